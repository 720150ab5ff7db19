"""The README and docs/ as a newcomer meets them: the front page stays short, its Python runs, no link is dead."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted([README, *(ROOT / "docs").rglob("*.md")])
MAX_README_LINES = 300

_FENCE = re.compile(r"^(```|~~~)")
_LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_TRACKER = re.compile(r"\bissues? ?#?\d+\b|bench_issue|\bissue's\b", re.IGNORECASE)


def _prose(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks."""
    out, fenced = [], False
    for i, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append((i, re.sub(r"`[^`]*`", "", line)))  # inline code is not a link
    return out


def _blocks(text: str, lang: str) -> list[str]:
    """The fenced code blocks tagged ``lang``."""
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_readme_is_a_front_page():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines; move detail into docs/ (at most {MAX_README_LINES})"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    text = doc.read_text(encoding="utf-8")
    bad = []
    for lineno, line in _prose(text):
        for target in _LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            dest = (doc.parent / path_part).resolve() if path_part else doc
            if not dest.exists():
                bad.append(f"{doc.relative_to(ROOT)}:{lineno}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors_with_code(dest):
                bad.append(f"{doc.relative_to(ROOT)}:{lineno}: {target} (no heading #{anchor} in {dest.name})")
    assert not bad, "dead links:\n" + "\n".join(bad)


def _anchors_with_code(path: Path) -> set[str]:
    """Anchors of every heading outside code blocks, inline code words included."""
    anchors, seen, fenced = set(), {}, False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        m = None if fenced else re.match(r"#{1,6}\s+(.*)", line)
        if m:
            slug = _slug(m.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_tracker_words(doc):
    hits = [
        f"{doc.relative_to(ROOT)}:{i}: {line.strip()}"
        for i, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
        if _TRACKER.search(line)
    ]
    assert not hits, "tracker words in the docs:\n" + "\n".join(hits)


def test_readme_python_runs(tmp_path):
    """Every ```python block of the README, run in order in a fresh interpreter beside the file it reads."""
    pytest.importorskip("ai_edge_litert", reason="the README's snippet runs the int8 stream on LiteRT")
    from keras_audiosr.audio import read_audio, resample, write_audio
    from keras_audiosr.data import embedded_corpus_dir

    blocks = _blocks(README.read_text(encoding="utf-8"), "python")
    assert blocks, "README.md has no python snippet"
    x, rate = read_audio(embedded_corpus_dir() / "p273" / "p273_023.flac", mix_down=True)
    x = x[: 2 * rate]  # two seconds are enough to run it
    write_audio(tmp_path / "speech_8k.wav", resample(x, rate, 8000, quality="high"), 8000)
    script = tmp_path / "readme_snippets.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)], check=False, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"README python snippet failed:\n{proc.stderr[-3000:]}"
    y, out_rate = read_audio(tmp_path / "speech_16k.wav", mix_down=True)
    assert out_rate == 16000
    assert abs(len(y) - 2 * 16000) <= 2, len(y)
