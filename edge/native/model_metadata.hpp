// Reads the streaming description a keras_audiosr .tflite carries inside itself.
//
// The .tflite is a flatbuffer (TFLite schema): Model.metadata[] names buffers; the entry
// "TFLITE_METADATA" holds a TFLite ModelMetadata flatbuffer (identifier "M001"), whose first
// SubGraphMetadata carries a CustomMetadata entry "keras_audiosr": the UTF-8 JSON document with the
// rates, frame, latency and state wiring. Both flatbuffers are walked by hand here, every offset
// bounds-checked, so a truncated or damaged file is an error message, never a crash. No flatbuffers
// or JSON library is needed.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bwe {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---- a bounds-checked flatbuffer table reader --------------------------------------------------
class FlatBuffer {
public:
    FlatBuffer(const uint8_t* data, size_t size, std::string what) : data_(data), size_(size), what_(std::move(what)) {}

    uint32_t u32(size_t at) const { need(at, 4); uint32_t v; std::memcpy(&v, data_ + at, 4); return v; }
    int32_t i32(size_t at) const { return static_cast<int32_t>(u32(at)); }
    uint16_t u16(size_t at) const { need(at, 2); uint16_t v; std::memcpy(&v, data_ + at, 2); return v; }
    uint64_t u64(size_t at) const { need(at, 8); uint64_t v; std::memcpy(&v, data_ + at, 8); return v; }

    size_t root(const char* identifier) const {
        need(0, 8);
        if (std::memcmp(data_ + 4, identifier, 4) != 0)
            throw Error(what_ + ": no '" + std::string(identifier, 4) + "' flatbuffer identifier");
        return u32(0);
    }
    // Position of field `index` of the table at `table`, or 0 when the field is absent.
    size_t field(size_t table, int index) const {
        size_t vtable = static_cast<size_t>(static_cast<int64_t>(table) - i32(table));
        uint16_t vsize = u16(vtable);
        size_t slot = 4 + 2 * static_cast<size_t>(index);
        if (slot + 2 > vsize) return 0;
        uint16_t off = u16(vtable + slot);
        return off ? table + off : 0;
    }
    size_t deref(size_t at) const { return at + u32(at); }  // uoffset -> target
    size_t table_field(size_t table, int index) const { size_t f = field(table, index); return f ? deref(f) : 0; }
    uint32_t scalar_u32(size_t table, int index, uint32_t dflt = 0) const {
        size_t f = field(table, index); return f ? u32(f) : dflt;
    }
    // A vector field: (position of the first element, length), or (0, 0) when absent.
    std::pair<size_t, uint32_t> vector(size_t table, int index) const {
        size_t f = field(table, index);
        if (!f) return {0, 0};
        size_t v = deref(f);
        uint32_t n = u32(v);
        return {v + 4, n};
    }
    std::string string(size_t table, int index) const {
        size_t f = field(table, index);
        if (!f) return "";
        return string_at(deref(f));
    }
    std::string string_at(size_t s) const {
        uint32_t n = u32(s);
        need(s + 4, n);
        return std::string(reinterpret_cast<const char*>(data_ + s + 4), n);
    }
    const uint8_t* bytes(size_t at, size_t n) const { need(at, n); return data_ + at; }
    void need(size_t at, size_t n) const {
        if (at > size_ || n > size_ - at)
            throw Error(what_ + ": truncated or corrupt flatbuffer (reads " + std::to_string(n) + " bytes at " +
                        std::to_string(at) + " of " + std::to_string(size_) + ")");
    }

private:
    const uint8_t* data_;
    size_t size_;
    std::string what_;
};

// ---- a small JSON value and parser (objects, arrays, strings, numbers, true/false/null) -------------
struct Json {
    enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
    bool b = false;
    double num = 0.0;
    std::string str;
    std::vector<Json> items;
    std::map<std::string, Json> fields;

    bool has(const std::string& key) const { return kind == Object && fields.count(key) && fields.at(key).kind != Null; }
    const Json& at(const std::string& key) const {
        if (kind != Object || !fields.count(key)) throw Error("metadata: no '" + key + "' field");
        return fields.at(key);
    }
    double number() const { if (kind != Number) throw Error("metadata: a number was expected"); return num; }
    const std::string& text() const { if (kind != String) throw Error("metadata: a string was expected"); return str; }
};

class JsonParser {
public:
    explicit JsonParser(const std::string& s) : s_(s) {}
    Json parse() {
        Json v = value();
        ws();
        if (i_ != s_.size()) fail("trailing characters");
        return v;
    }

private:
    const std::string& s_;
    size_t i_ = 0;
    int depth_ = 0;

    [[noreturn]] void fail(const std::string& why) const {
        throw Error("metadata JSON: " + why + " at character " + std::to_string(i_));
    }
    void ws() { while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_; }
    bool eat(char c) { ws(); if (i_ < s_.size() && s_[i_] == c) { ++i_; return true; } return false; }
    void expect(char c) { if (!eat(c)) fail(std::string("'") + c + "' expected"); }
    bool word(const char* w) {
        size_t n = std::strlen(w);
        if (s_.compare(i_, n, w) == 0) { i_ += n; return true; }
        return false;
    }
    Json value() {
        if (++depth_ > 64) fail("nested too deeply");
        ws();
        if (i_ >= s_.size()) fail("unexpected end");
        Json v;
        char c = s_[i_];
        if (c == '{') {
            ++i_;
            v.kind = Json::Object;
            if (!eat('}')) {
                do {
                    ws();
                    std::string key = string();
                    expect(':');
                    v.fields[key] = value();
                } while (eat(','));
                expect('}');
            }
        } else if (c == '[') {
            ++i_;
            v.kind = Json::Array;
            if (!eat(']')) {
                do { v.items.push_back(value()); } while (eat(','));
                expect(']');
            }
        } else if (c == '"') {
            v.kind = Json::String;
            v.str = string();
        } else if (word("true")) {
            v.kind = Json::Bool; v.b = true;
        } else if (word("false")) {
            v.kind = Json::Bool;
        } else if (word("null")) {
            v.kind = Json::Null;
        } else if (word("NaN") || word("Infinity") || word("-Infinity")) {
            v.kind = Json::Null;  // Python's json writes these for non-finite floats; nothing here needs them
        } else {
            size_t start = i_;
            while (i_ < s_.size() && std::strchr("+-0123456789.eE", s_[i_])) ++i_;
            if (start == i_) fail("unexpected character");
            v.kind = Json::Number;
            try { v.num = std::stod(s_.substr(start, i_ - start)); } catch (...) { fail("bad number"); }
        }
        --depth_;
        return v;
    }
    std::string string() {
        if (i_ >= s_.size() || s_[i_] != '"') fail("string expected");
        ++i_;
        std::string out;
        while (true) {
            if (i_ >= s_.size()) fail("unterminated string");
            char c = s_[i_++];
            if (c == '"') break;
            if (c != '\\') { out += c; continue; }
            if (i_ >= s_.size()) fail("unterminated escape");
            char e = s_[i_++];
            switch (e) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'u': {  // keep ASCII, replace the rest: names and numbers here are ASCII
                    if (i_ + 4 > s_.size()) fail("bad \\u escape");
                    unsigned code = static_cast<unsigned>(std::stoul(s_.substr(i_, 4), nullptr, 16));
                    i_ += 4;
                    out += code < 128 ? static_cast<char>(code) : '?';
                    break;
                }
                default: out += e;
            }
        }
        return out;
    }
};

// ---- the streaming description -------------------------------------------------------------------
struct TensorSpec {
    std::string name;
    std::string dtype;          // "float32", "int8", "int16"
    std::vector<int64_t> shape;
    double scale = 0.0;         // 0 when the tensor is float
    int64_t zero_point = 0;
    double initial_value = 0.0; // states only: the value of every element at the start of a stream
};

struct StateSpec {
    std::string name;
    TensorSpec input;           // fed in by the caller
    std::string output;         // the output whose value feeds `input` on the next call
};

struct StreamingDescription {
    std::string model_name, version, metadata_entry;
    std::string io;             // "pcm16" or "float32"
    int lr_rate = 0, hr_rate = 0, ratio = 0;
    int frame_length = 0, output_length = 0, lookahead = 0;
    double latency_ms = 0.0;
    TensorSpec input, output;
    std::vector<StateSpec> states;
};

inline TensorSpec tensor_spec(const Json& j) {
    TensorSpec t;
    t.name = j.at("name").text();
    t.dtype = j.at("dtype").text();
    for (const Json& d : j.at("shape").items) t.shape.push_back(static_cast<int64_t>(d.number()));
    if (j.has("scale")) t.scale = j.at("scale").number();
    if (j.has("zero_point")) t.zero_point = static_cast<int64_t>(j.at("zero_point").number());
    if (j.has("initial_value")) t.initial_value = j.at("initial_value").number();
    return t;
}

// The JSON document of the "keras_audiosr" custom metadata inside TFLITE_METADATA, or an Error saying why not.
inline std::string embedded_document(const std::vector<uint8_t>& model, const std::string& what) {
    FlatBuffer fb(model.data(), model.size(), what);
    size_t root = fb.root("TFL3");
    auto buffers = fb.vector(root, 4);   // Model.buffers
    auto metadata = fb.vector(root, 6);  // Model.metadata
    int64_t buffer_index = -1;
    std::vector<std::string> names;
    for (uint32_t i = 0; i < metadata.second; ++i) {
        size_t entry = fb.deref(metadata.first + 4 * i);
        std::string name = fb.string(entry, 0);
        names.push_back(name);
        if (name == "TFLITE_METADATA") buffer_index = fb.scalar_u32(entry, 1);
    }
    if (buffer_index < 0) {
        std::string have;
        for (auto& n : names) have += (have.empty() ? "" : ", ") + n;
        throw Error(what + ": no TFLITE_METADATA entry (metadata entries: " + (have.empty() ? "none" : have) +
                    "); not a keras_audiosr streaming export -- stamp it with tools/stamp_metadata.py");
    }
    if (buffer_index >= static_cast<int64_t>(buffers.second))
        throw Error(what + ": TFLITE_METADATA names buffer " + std::to_string(buffer_index) + " of " +
                    std::to_string(buffers.second));
    size_t buffer = fb.deref(buffers.first + 4 * static_cast<size_t>(buffer_index));
    auto data = fb.vector(buffer, 0);  // Buffer.data
    const uint8_t* meta = nullptr;
    size_t meta_size = 0;
    if (data.second) {
        meta = fb.bytes(data.first, data.second);
        meta_size = data.second;
    } else {  // Buffer.offset / Buffer.size: data stored after the flatbuffer (models over 2 GB)
        size_t off_field = fb.field(buffer, 1), size_field = fb.field(buffer, 2);
        if (!off_field || !size_field) throw Error(what + ": the TFLITE_METADATA buffer is empty");
        meta_size = static_cast<size_t>(fb.u64(size_field));
        meta = fb.bytes(static_cast<size_t>(fb.u64(off_field)), meta_size);
    }
    FlatBuffer md(meta, meta_size, what + " (TFLITE_METADATA)");
    size_t mm = md.root("M001");                       // ModelMetadata
    auto subgraphs = md.vector(mm, 3);                 // ModelMetadata.subgraph_metadata
    for (uint32_t s = 0; s < subgraphs.second; ++s) {
        size_t sg = md.deref(subgraphs.first + 4 * s);
        auto custom = md.vector(sg, 9);                // SubGraphMetadata.custom_metadata
        for (uint32_t c = 0; c < custom.second; ++c) {
            size_t cm = md.deref(custom.first + 4 * c);
            if (md.string(cm, 0) != "keras_audiosr") continue;
            auto bytes = md.vector(cm, 1);             // CustomMetadata.data
            return std::string(reinterpret_cast<const char*>(md.bytes(bytes.first, bytes.second)), bytes.second);
        }
    }
    throw Error(what + ": TFLITE_METADATA has no 'keras_audiosr' custom metadata (no streaming description)");
}

inline StreamingDescription read_description(const std::vector<uint8_t>& model, const std::string& what) {
    Json doc = JsonParser(embedded_document(model, what)).parse();
    StreamingDescription d;
    try {
        if (!doc.has("stateful") || doc.at("stateful").kind != Json::Bool || !doc.at("stateful").b)
            throw Error("it describes a fixed-window model, not a stateful streaming one (\"stateful\" is not true)");
        d.metadata_entry = "TFLITE_METADATA";
        d.model_name = doc.has("name") ? doc.at("name").text() : doc.at("model").text();
        d.version = doc.has("version") ? doc.at("version").text() : "";
        d.io = doc.at("io").text();
        d.lr_rate = static_cast<int>(doc.at("lr_rate").number());
        d.hr_rate = static_cast<int>(doc.at("hr_rate").number());
        d.ratio = static_cast<int>(doc.at("ratio").number());
        d.frame_length = static_cast<int>(doc.at("frame_length").number());
        d.output_length = static_cast<int>(doc.at("output_length").number());
        d.lookahead = static_cast<int>(doc.at("lookahead").number());
        d.latency_ms = doc.at("algorithmic_latency_ms").number();
        d.input = tensor_spec(doc.at("input"));
        d.output = tensor_spec(doc.at("output"));
        for (const Json& s : doc.at("states").items) {
            StateSpec st;
            st.name = s.at("name").text();
            Json in = s;
            in.fields["name"] = s.at("input");
            st.input = tensor_spec(in);
            st.output = s.at("output").text();
            d.states.push_back(st);
        }
    } catch (const Error& e) {
        throw Error(what + ": no usable streaming description in its metadata: " + e.what());
    }
    if (d.frame_length <= 0 || d.ratio <= 0 || d.output_length != d.frame_length * d.ratio || d.lr_rate <= 0 ||
        d.hr_rate != d.lr_rate * d.ratio)
        throw Error(what + ": inconsistent metadata (frame " + std::to_string(d.frame_length) + ", output " +
                    std::to_string(d.output_length) + ", rates " + std::to_string(d.lr_rate) + " -> " +
                    std::to_string(d.hr_rate) + ")");
    return d;
}

}  // namespace bwe
