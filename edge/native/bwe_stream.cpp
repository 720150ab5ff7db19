// bwe_stream: streams 16-bit PCM through a keras_audiosr stateful streaming .tflite with Arm NN.
//
//   bwe_stream [options] MODEL.tflite IN.wav|- OUT.wav|-
//
// Everything about the model -- frame length, sample rates, audio format, the state tensors, their
// reset values and which output feeds which input -- comes from the description stored inside the
// .tflite (TFLITE_METADATA, read by model_metadata.hpp), not from constants. `-` reads or writes raw
// 16-bit little-endian mono PCM on stdin/stdout, frame by frame, as a telephony stack would.
//
// Per call: the input frame and every state tensor go in, the output frame and every new state come
// out; the new states are the next call's inputs (two buffers per state, swapped each call: nothing
// is copied). The output lags the input by `lookahead` low-rate samples; by default that pre-roll is
// dropped and the stream is flushed with zeros at the end, so OUT has exactly `ratio` times the
// samples of IN, aligned (--raw keeps the stream as the model produces it).
//
// Exit status: 0 done, 1 a runtime error, 2 bad usage or bad input (a clear one-line message).
#include <armnn/ArmNN.hpp>
#include <armnnTfLiteParser/ITfLiteParser.hpp>

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

#include "model_metadata.hpp"

namespace {

using bwe::Error;

struct UsageError : Error {
    using Error::Error;
};

const char* kUsage =
    "usage: bwe_stream [--backend CpuAcc|CpuRef] [--frame N] [--raw] [--stats FILE.json] [--quiet]\n"
    "                  MODEL.tflite IN.wav|- OUT.wav|-\n"
    "  streams 16-bit mono PCM through a keras_audiosr stateful streaming model with Arm NN;\n"
    "  '-' is raw 16-bit little-endian PCM on stdin/stdout. Frame, rates and states come from the model.\n"
    "  --backend  Arm NN backend preference (default: CpuAcc where available, else CpuRef)\n"
    "  --frame N  the frame length the caller delivers; an error unless the model takes exactly N samples\n"
    "  --raw      keep the model's pre-roll (lookahead) and do not flush: the stream as produced\n"
    "  --stats    write timing, memory and the model's description as JSON\n";

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw UsageError(path + ": cannot open");
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// ---- WAV ---------------------------------------------------------------------------------------
struct Wav {
    int rate = 0, channels = 0, bits = 0;
    std::vector<int16_t> samples;
};

uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

Wav read_wav(const std::string& path) {
    std::vector<uint8_t> b = read_file(path);
    if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 || std::memcmp(b.data() + 8, "WAVE", 4) != 0)
        throw UsageError(path + ": not a RIFF/WAVE file");
    Wav w;
    bool fmt = false;
    size_t at = 12;
    while (at + 8 <= b.size()) {
        uint32_t size = le32(b.data() + at + 4);
        const uint8_t* body = b.data() + at + 8;
        size_t left = b.size() - at - 8;
        if (std::memcmp(b.data() + at, "fmt ", 4) == 0) {
            if (size < 16 || left < 16) throw UsageError(path + ": truncated fmt chunk");
            uint16_t format = le16(body);
            w.channels = le16(body + 2);
            w.rate = static_cast<int>(le32(body + 4));
            w.bits = le16(body + 14);
            if (format == 0xFFFE && size >= 26 && left >= 26) format = le16(body + 24);  // WAVE_FORMAT_EXTENSIBLE
            if (format != 1 || w.bits != 16)
                throw UsageError(path + ": WAV format " + std::to_string(format) + " at " + std::to_string(w.bits) +
                                 " bits; 16-bit PCM is needed (e.g. ffmpeg -i IN -c:a pcm_s16le -ac 1 OUT.wav)");
            fmt = true;
        } else if (std::memcmp(b.data() + at, "data", 4) == 0) {
            if (!fmt) throw UsageError(path + ": data chunk before the fmt chunk");
            if (size > left)
                throw UsageError(path + ": truncated: the data chunk declares " + std::to_string(size) +
                                 " bytes, the file holds " + std::to_string(left));
            if (size % (2 * static_cast<uint32_t>(std::max(1, w.channels))) != 0)
                throw UsageError(path + ": truncated: " + std::to_string(size) + " data bytes is not a whole number "
                                 "of 16-bit sample frames");
            w.samples.resize(size / 2);
            for (size_t i = 0; i < w.samples.size(); ++i) w.samples[i] = static_cast<int16_t>(le16(body + 2 * i));
            return w;
        }
        at += 8 + size + (size & 1);
    }
    throw UsageError(path + (fmt ? ": truncated: no data chunk" : ": truncated: no fmt chunk"));
}

void put32(std::vector<uint8_t>& o, uint32_t v) { for (int i = 0; i < 4; ++i) o.push_back((v >> (8 * i)) & 0xFF); }
void put16(std::vector<uint8_t>& o, uint16_t v) { o.push_back(v & 0xFF); o.push_back(v >> 8); }

void write_wav(const std::string& path, int rate, const std::vector<int16_t>& s) {
    std::vector<uint8_t> o;
    uint32_t bytes = static_cast<uint32_t>(s.size() * 2);
    o.insert(o.end(), {'R', 'I', 'F', 'F'}); put32(o, 36 + bytes);
    o.insert(o.end(), {'W', 'A', 'V', 'E', 'f', 'm', 't', ' '}); put32(o, 16);
    put16(o, 1); put16(o, 1); put32(o, static_cast<uint32_t>(rate)); put32(o, static_cast<uint32_t>(rate) * 2);
    put16(o, 2); put16(o, 16);
    o.insert(o.end(), {'d', 'a', 't', 'a'}); put32(o, bytes);
    for (int16_t x : s) put16(o, static_cast<uint16_t>(x));
    std::string tmp = path + ".part";
    {
        std::ofstream f(tmp, std::ios::binary);
        if (!f.write(reinterpret_cast<const char*>(o.data()), static_cast<std::streamsize>(o.size())))
            throw UsageError(path + ": cannot write");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw UsageError(path + ": cannot write");
}

// ---- the Arm NN stream ---------------------------------------------------------------------------
size_t element_size(armnn::DataType t) {
    switch (t) {
        case armnn::DataType::Float32: return 4;
        case armnn::DataType::QSymmS16: return 2;
        case armnn::DataType::QAsymmS8:
        case armnn::DataType::QSymmS8:
        case armnn::DataType::QAsymmU8: return 1;
        default: throw Error(std::string("unsupported tensor type ") + armnn::GetDataTypeName(t));
    }
}

std::string shape_text(const armnn::TensorShape& s) {
    std::string t = "[";
    for (unsigned i = 0; i < s.GetNumDimensions(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

class ArmnnStream {
public:
    ArmnnStream(const std::vector<uint8_t>& model, const bwe::StreamingDescription& d, const std::string& what,
                const std::string& backend_choice)
        : d_(d), runtime_(armnn::IRuntime::Create(armnn::IRuntime::CreationOptions())) {
        auto parser = armnnTfLiteParser::ITfLiteParser::Create();
        armnn::INetworkPtr network{nullptr, [](armnn::INetwork*) {}};
        try {
            network = parser->CreateNetworkFromBinary(model);
        } catch (const armnn::Exception& e) {
            throw Error(what + ": Arm NN's TfLite parser refused the model: " + e.what());
        }
        auto bind_in = [&](const std::string& name) {
            try { return parser->GetNetworkInputBindingInfo(0, name); } catch (const armnn::Exception&) {
                throw Error(what + ": the metadata names input '" + name + "', which the model does not have");
            }
        };
        auto bind_out = [&](const std::string& name) {
            try { return parser->GetNetworkOutputBindingInfo(0, name); } catch (const armnn::Exception&) {
                throw Error(what + ": the metadata names output '" + name + "', which the model does not have");
            }
        };
        in_ = bind_in(d.input.name);
        out_ = bind_out(d.output.name);
        if (in_.second.GetNumElements() != static_cast<unsigned>(d.frame_length))
            throw Error(what + ": frame-size mismatch: the metadata says " + std::to_string(d.frame_length) +
                        "-sample frames, the model's input '" + d.input.name + "' is " +
                        shape_text(in_.second.GetShape()));
        if (out_.second.GetNumElements() != static_cast<unsigned>(d.output_length))
            throw Error(what + ": frame-size mismatch: the metadata says " + std::to_string(d.output_length) +
                        "-sample output frames, the model's output '" + d.output.name + "' is " +
                        shape_text(out_.second.GetShape()));
        in_pcm16_ = in_.second.GetDataType() == armnn::DataType::QSymmS16;
        out_pcm16_ = out_.second.GetDataType() == armnn::DataType::QSymmS16;
        if (!in_pcm16_ && in_.second.GetDataType() != armnn::DataType::Float32)
            throw Error(what + ": audio input of type " + armnn::GetDataTypeName(in_.second.GetDataType()) +
                        "; this program takes int16 PCM or float32 audio models");
        if (!out_pcm16_ && out_.second.GetDataType() != armnn::DataType::Float32)
            throw Error(what + ": audio output of type " + armnn::GetDataTypeName(out_.second.GetDataType()) +
                        "; this program takes int16 PCM or float32 audio models");
        in_buf_.resize(in_.second.GetNumBytes());
        out_buf_.resize(out_.second.GetNumBytes());
        for (const auto& s : d.states) {
            State st;
            st.spec = s;
            st.in = bind_in(s.input.name);
            st.out = bind_out(s.output);
            if (st.in.second.GetNumBytes() != st.out.second.GetNumBytes() ||
                st.in.second.GetDataType() != st.out.second.GetDataType())
                throw Error(what + ": state '" + s.name + "': output '" + s.output + "' " +
                            shape_text(st.out.second.GetShape()) + " cannot feed input '" + s.input.name + "' " +
                            shape_text(st.in.second.GetShape()));
            int64_t expected = 1;
            for (int64_t dim : s.input.shape) expected *= dim;
            if (expected != static_cast<int64_t>(st.in.second.GetNumElements()))
                throw Error(what + ": state '" + s.name + "': the metadata's shape does not match the model's " +
                            shape_text(st.in.second.GetShape()));
            element_size(st.in.second.GetDataType());
            st.a.resize(st.in.second.GetNumBytes());
            st.b.resize(st.in.second.GetNumBytes());
            state_bytes_ += 2 * st.a.size();
            states_.push_back(std::move(st));
        }
        if (parser->GetSubgraphInputTensorNames(0).size() != states_.size() + 1 ||
            parser->GetSubgraphOutputTensorNames(0).size() != states_.size() + 1)
            throw Error(what + ": the model has " + std::to_string(parser->GetSubgraphInputTensorNames(0).size()) +
                        " inputs and " + std::to_string(parser->GetSubgraphOutputTensorNames(0).size()) +
                        " outputs; the metadata describes the audio and " + std::to_string(states_.size()) +
                        " states");
        reset();

        std::vector<armnn::BackendId> available;
        for (const auto& b : runtime_->GetDeviceSpec().GetSupportedBackends()) available.push_back(b);
        std::vector<armnn::BackendId> prefs;
        auto has = [&](const std::string& n) {
            return std::find(available.begin(), available.end(), armnn::BackendId(n)) != available.end();
        };
        if (!backend_choice.empty()) {
            if (!has(backend_choice)) {
                std::string list;
                for (auto& b : available) list += (list.empty() ? "" : ", ") + b.Get();
                throw UsageError("backend " + backend_choice + " is not installed (available: " + list + ")");
            }
            prefs.push_back(backend_choice);
        } else {
            if (has("CpuAcc")) prefs.push_back("CpuAcc");
        }
        if (std::find(prefs.begin(), prefs.end(), armnn::BackendId("CpuRef")) == prefs.end() && has("CpuRef"))
            prefs.push_back("CpuRef");  // CpuRef runs whatever CpuAcc does not
        if (prefs.empty()) throw Error("no Arm NN CPU backend is installed (apt-get install libarmnn-cpuref-backend22)");
        for (auto& b : prefs) backends_ += (backends_.empty() ? "" : ",") + b.Get();
        std::vector<std::string> messages;
        armnn::IOptimizedNetworkPtr optimized{nullptr, [](armnn::IOptimizedNetwork*) {}};
        try {
            optimized = armnn::Optimize(*network, prefs, runtime_->GetDeviceSpec(), armnn::OptimizerOptions(),
                                        armnn::Optional<std::vector<std::string>&>(messages));
        } catch (const armnn::Exception& e) {
            throw Error(what + ": Arm NN cannot run it on " + backends_ + ": " + e.what());
        }
        if (!optimized) throw Error(what + ": Arm NN cannot run it on " + backends_);
        std::string why;
        if (runtime_->LoadNetwork(id_, std::move(optimized), why) != armnn::Status::Success)
            throw Error(what + ": Arm NN could not load the network: " + why);
    }
    ~ArmnnStream() { runtime_->UnloadNetwork(id_); }

    // A new stream: every state at its initial value from the metadata.
    void reset() {
        for (auto& st : states_) {
            armnn::DataType t = st.in.second.GetDataType();
            size_t n = st.in.second.GetNumElements();
            for (std::vector<uint8_t>* buf : {&st.a, &st.b}) {
                if (t == armnn::DataType::Float32) {
                    float v = static_cast<float>(st.spec.input.initial_value);
                    for (size_t i = 0; i < n; ++i) std::memcpy(buf->data() + 4 * i, &v, 4);
                } else if (t == armnn::DataType::QSymmS16) {
                    int16_t v = static_cast<int16_t>(std::lround(st.spec.input.initial_value));
                    for (size_t i = 0; i < n; ++i) std::memcpy(buf->data() + 2 * i, &v, 2);
                } else {
                    std::fill(buf->begin(), buf->end(), static_cast<uint8_t>(std::lround(st.spec.input.initial_value)));
                }
            }
            st.flip = false;
        }
    }

    // One call: frame_length PCM samples in, output_length PCM samples out; returns the wall-clock seconds it
    // took and adds the CPU seconds of every thread of the process to `cpu_seconds`.
    double step(const int16_t* pcm, int16_t* result, double& cpu_seconds) {
        int n = d_.frame_length;
        if (in_pcm16_) std::memcpy(in_buf_.data(), pcm, 2 * static_cast<size_t>(n));
        else for (int i = 0; i < n; ++i) { float v = pcm[i] / 32768.0f; std::memcpy(in_buf_.data() + 4 * i, &v, 4); }
        armnn::InputTensors inputs{{in_.first, armnn::ConstTensor(in_.second, in_buf_.data())}};
        armnn::OutputTensors outputs{{out_.first, armnn::Tensor(out_.second, out_buf_.data())}};
        for (auto& st : states_) {  // state in from one buffer, new state out into the other, swapped each call
            std::vector<uint8_t>& cur = st.flip ? st.b : st.a;
            std::vector<uint8_t>& nxt = st.flip ? st.a : st.b;
            inputs.emplace_back(st.in.first, armnn::ConstTensor(st.in.second, cur.data()));
            outputs.emplace_back(st.out.first, armnn::Tensor(st.out.second, nxt.data()));
        }
        timespec c0{}, c1{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        auto t0 = std::chrono::steady_clock::now();
        if (runtime_->EnqueueWorkload(id_, inputs, outputs) != armnn::Status::Success)
            throw Error("Arm NN failed to run a frame");
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        cpu_seconds += static_cast<double>(c1.tv_sec - c0.tv_sec) + 1e-9 * static_cast<double>(c1.tv_nsec - c0.tv_nsec);
        for (auto& st : states_) st.flip = !st.flip;
        int m = d_.output_length;
        if (out_pcm16_) {
            std::memcpy(result, out_buf_.data(), 2 * static_cast<size_t>(m));
        } else {
            for (int i = 0; i < m; ++i) {
                float v;
                std::memcpy(&v, out_buf_.data() + 4 * i, 4);
                long q = std::lround(v * 32768.0f);
                result[i] = static_cast<int16_t>(std::min(32767L, std::max(-32768L, q)));
            }
        }
        return seconds;
    }

    const std::string& backends() const { return backends_; }
    size_t state_bytes() const { return state_bytes_; }
    size_t io_bytes() const { return in_buf_.size() + out_buf_.size(); }

private:
    struct State {
        bwe::StateSpec spec;
        armnn::BindingPointInfo in, out;
        std::vector<uint8_t> a, b;
        bool flip = false;
    };
    const bwe::StreamingDescription& d_;
    armnn::IRuntimePtr runtime_;
    armnn::NetworkId id_ = 0;
    armnn::BindingPointInfo in_, out_;
    bool in_pcm16_ = false, out_pcm16_ = false;
    std::vector<uint8_t> in_buf_, out_buf_;
    std::vector<State> states_;
    size_t state_bytes_ = 0;
    std::string backends_;
};

// ---- PCM sources and sinks -------------------------------------------------------------------------
class Source {
public:
    virtual ~Source() = default;
    virtual size_t read(int16_t* out, size_t n) = 0;  // up to n samples; fewer only at the end
};

class MemorySource : public Source {
public:
    explicit MemorySource(std::vector<int16_t> s) : s_(std::move(s)) {}
    size_t read(int16_t* out, size_t n) override {
        size_t k = std::min(n, s_.size() - at_);
        std::copy(s_.begin() + static_cast<long>(at_), s_.begin() + static_cast<long>(at_ + k), out);
        at_ += k;
        return k;
    }

private:
    std::vector<int16_t> s_;
    size_t at_ = 0;
};

class StdinSource : public Source {
public:
    size_t read(int16_t* out, size_t n) override {
        size_t got = 0;
        uint8_t* p = reinterpret_cast<uint8_t*>(out);
        while (got < 2 * n) {
            size_t k = std::fread(p + got, 1, 2 * n - got, stdin);
            if (k == 0) break;
            got += k;
        }
        if (got % 2) throw UsageError("stdin: truncated: the raw PCM stream ends in the middle of a 16-bit sample");
        for (size_t i = 0; i < got / 2; ++i) out[i] = static_cast<int16_t>(le16(p + 2 * i));
        return got / 2;
    }
};

struct Stats {
    std::vector<double> frame_seconds;
    double cpu_seconds = 0.0;
};

// Peak resident memory of this program in KiB: VmHWM (Linux; counts only this executable's memory), else
// ru_maxrss (which on Linux also remembers the memory of the process that exec'd it, e.g. a Python parent).
long peak_rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    struct rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) >= 0x20) o += c;
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    std::string backend, stats_path;
    int frame_request = 0;
    bool raw = false, quiet = false;
    std::vector<std::string> pos;
    try {
        for (int i = 1; i < argc; ++i) {
            std::string a = argv[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= argc) throw UsageError(a + " needs a value");
                return argv[++i];
            };
            if (a == "-h" || a == "--help") { std::cout << kUsage; return 0; }
            else if (a == "--backend") backend = value();
            else if (a == "--stats") stats_path = value();
            else if (a == "--raw") raw = true;
            else if (a == "--quiet") quiet = true;
            else if (a == "--frame") {
                std::string v = value();
                char* end = nullptr;
                long f = std::strtol(v.c_str(), &end, 10);
                if (!end || *end || f <= 0) throw UsageError("--frame takes a positive number of samples, not '" + v + "'");
                frame_request = static_cast<int>(f);
            } else if (a.size() > 1 && a[0] == '-') throw UsageError("unknown option " + a);
            else pos.push_back(a);
        }
        if (pos.size() != 3) throw UsageError("expected MODEL.tflite IN OUT");
    } catch (const UsageError& e) {
        std::cerr << "bwe_stream: " << e.what() << "\n" << kUsage;
        return 2;
    }
    const std::string& model_path = pos[0];
    const std::string& in_path = pos[1];
    const std::string& out_path = pos[2];
    try {
        std::vector<uint8_t> model = read_file(model_path);
        bwe::StreamingDescription d = bwe::read_description(model, model_path);
        if (frame_request && frame_request != d.frame_length)
            throw UsageError("frame-size mismatch: the caller delivers " + std::to_string(frame_request) +
                             "-sample frames, " + model_path + " takes " + std::to_string(d.frame_length) + " (" +
                             std::to_string(1000.0 * d.frame_length / d.lr_rate) + " ms at " +
                             std::to_string(d.lr_rate) + " Hz)");
        std::unique_ptr<Source> source;
        size_t total_in = 0;
        if (in_path == "-") {
            source.reset(new StdinSource());
        } else {
            Wav w = read_wav(in_path);
            if (w.channels != 1)
                throw UsageError(in_path + ": " + std::to_string(w.channels) + " channels; the model takes mono "
                                 "(e.g. ffmpeg -i IN -ac 1 -c:a pcm_s16le OUT.wav)");
            if (w.rate != d.lr_rate)
                throw UsageError(in_path + ": " + std::to_string(w.rate) + " Hz; the model takes " +
                                 std::to_string(d.lr_rate) + " Hz (resample first, e.g. ffmpeg -i IN -ar " +
                                 std::to_string(d.lr_rate) + " OUT.wav)");
            total_in = w.samples.size();
            source.reset(new MemorySource(std::move(w.samples)));
        }
        auto t_load = std::chrono::steady_clock::now();
        ArmnnStream stream(model, d, model_path, backend);
        double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();

        const size_t f = static_cast<size_t>(d.frame_length), r = static_cast<size_t>(d.ratio);
        const size_t skip_total = raw ? 0 : static_cast<size_t>(d.lookahead) * r;  // the pre-roll
        std::vector<int16_t> frame(f), out(f * r), result;
        bool to_stdout = out_path == "-";
        Stats stats;
        size_t consumed = 0, skipped = 0, emitted = 0;
        size_t flush_left = raw ? 0 : static_cast<size_t>(d.lookahead);  // zeros fed after the end
        auto emit = [&](const int16_t* p, size_t n) {
            if (!n) return;
            if (to_stdout) {
                std::vector<uint8_t> b(2 * n);
                for (size_t i = 0; i < n; ++i) { b[2 * i] = p[i] & 0xFF; b[2 * i + 1] = (static_cast<uint16_t>(p[i]) >> 8); }
                if (std::fwrite(b.data(), 1, b.size(), stdout) != b.size()) throw Error("stdout: write failed");
            } else {
                result.insert(result.end(), p, p + n);
            }
            emitted += n;
        };
        bool ended = false;
        while (true) {
            size_t got = ended ? 0 : source->read(frame.data(), f);
            if (got < f) ended = true;
            consumed += got;
            if (ended) {
                size_t pad = f - got;
                if (got == 0 && flush_left == 0) break;
                flush_left = pad >= flush_left ? 0 : flush_left - pad;
                std::fill(frame.begin() + static_cast<long>(got), frame.end(), 0);
            }
            stats.frame_seconds.push_back(stream.step(frame.data(), out.data(), stats.cpu_seconds));
            size_t drop = std::min(out.size(), skip_total - skipped);
            skipped += drop;
            size_t keep = out.size() - drop;
            if (ended && !raw) keep = std::min(keep, consumed * r - (emitted));  // stop at len(IN) * ratio
            emit(out.data() + drop, keep);
            if (to_stdout) std::fflush(stdout);
            if (ended && (raw || flush_left == 0)) break;
        }
        if (!to_stdout) write_wav(out_path, d.hr_rate, result);
        if (in_path != "-" && consumed != total_in) throw Error("internal: read " + std::to_string(consumed) + " samples");

        std::vector<double> t = stats.frame_seconds;
        std::sort(t.begin(), t.end());
        double mean = t.empty() ? 0 : std::accumulate(t.begin(), t.end(), 0.0) / static_cast<double>(t.size());
        auto pct = [&](double p) { return t.empty() ? 0.0 : t[std::min(t.size() - 1, static_cast<size_t>(p * t.size()))]; };
        double frame_s = static_cast<double>(d.frame_length) / d.lr_rate;
        double cpu_mean = t.empty() ? 0 : stats.cpu_seconds / static_cast<double>(t.size());
        long rss_kib = peak_rss_kib();
        if (!quiet) {
            std::fprintf(stderr,
                         "bwe_stream: %s (%s) on %s: %zu frames of %d samples (%.1f ms) at %d -> %d Hz, %zu states; "
                         "per frame mean %.3f ms, median %.3f, p99 %.3f, max %.3f (CPU %.3f ms); real-time factor %.4f; "
                         "algorithmic latency %.2f ms; peak RSS %.1f MiB; load %.2f s\n",
                         d.model_name.c_str(), d.io.c_str(), stream.backends().c_str(), t.size(), d.frame_length,
                         1000.0 * frame_s, d.lr_rate, d.hr_rate, d.states.size(), 1e3 * mean, 1e3 * pct(0.5),
                         1e3 * pct(0.99), 1e3 * (t.empty() ? 0 : t.back()), 1e3 * cpu_mean, mean / frame_s, d.latency_ms,
                         rss_kib / 1024.0, load_s);
        }
        if (!stats_path.empty()) {
            std::ostringstream j;
            j << "{\"model\": \"" << json_escape(d.model_name) << "\", \"io\": \"" << d.io << "\", \"backends\": \""
              << stream.backends() << "\", \"frames\": " << t.size() << ", \"frame_length\": " << d.frame_length
              << ", \"output_length\": " << d.output_length << ", \"lr_rate\": " << d.lr_rate
              << ", \"hr_rate\": " << d.hr_rate << ", \"lookahead\": " << d.lookahead
              << ", \"algorithmic_latency_ms\": " << d.latency_ms << ", \"states\": " << d.states.size()
              << ", \"state_bytes\": " << stream.state_bytes() << ", \"io_bytes\": " << stream.io_bytes()
              << ", \"model_bytes\": " << model.size() << ", \"samples_in\": " << consumed
              << ", \"samples_out\": " << emitted << ", \"frame_ms_mean\": " << 1e3 * mean
              << ", \"frame_ms_median\": " << 1e3 * pct(0.5) << ", \"frame_ms_p99\": " << 1e3 * pct(0.99)
              << ", \"frame_ms_max\": " << 1e3 * (t.empty() ? 0 : t.back()) << ", \"frame_cpu_ms_mean\": "
              << 1e3 * cpu_mean << ", \"real_time_factor\": "
              << mean / frame_s << ", \"peak_rss_kib\": " << rss_kib << ", \"load_seconds\": " << load_s
              << "}\n";
            std::ofstream(stats_path) << j.str();
        }
    } catch (const UsageError& e) {
        std::cerr << "bwe_stream: " << e.what() << "\n";
        return 2;
    } catch (const bwe::Error& e) {
        std::cerr << "bwe_stream: " << e.what() << "\n";
        return 2;
    } catch (const armnn::Exception& e) {
        std::cerr << "bwe_stream: Arm NN: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "bwe_stream: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
