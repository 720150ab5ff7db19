"""keras_audiosr.args: the argument types every command line shares, and the path checks made before any work."""

import argparse

import pytest

from keras_audiosr import args


@pytest.mark.parametrize(
    "fn, text, want",
    [
        (args.positive_int, "3", 3),
        (args.non_negative_int, "0", 0),
        (args.positive_float, "0.5", 0.5),
        (args.non_negative_float, "0", 0.0),
        (args.name_list, " a, b ,", ["a", "b"]),
        (args.corpus_weights, "vctk=2, lj=0", {"vctk": 2.0, "lj": 0.0}),
        (args.filter_spec, " Cheby1:8 ", "cheby1:8"),
        (args.degradation_name, "Speech-Robust", "speech-robust"),
        (args.degradation_name, "TELEPHONE:MuLaw", "telephone:mulaw"),
    ],
)
def test_types_return_the_value(fn, text, want):
    assert fn(text) == want


@pytest.mark.parametrize(
    "fn, text, reason",
    [
        (args.positive_int, "0", "expected a positive integer, got '0'"),
        (args.positive_int, "x", "expected a positive integer, got 'x'"),
        (args.non_negative_int, "-1", "expected an integer >= 0"),
        (args.positive_float, "inf", "expected a positive number"),
        (args.non_negative_float, "nan", "expected a number >= 0"),
        (args.name_list, " , ", "expected comma-separated names"),
        (args.corpus_weights, "vctk", "expected name=weight pairs"),
        (args.filter_spec, "kaiser:8", "unknown family 'kaiser'"),
        (args.degradation_name, "robust", "unknown degradation set 'robust'"),
        (args.init_source, "no-such-model", "not the name of a shipped model"),
    ],
)
def test_types_give_one_line_reasons(fn, text, reason):
    with pytest.raises(argparse.ArgumentTypeError, match=reason):
        fn(text)


def test_path_types_and_checks(tmp_path):
    (tmp_path / "f.wav").write_bytes(b"x")
    assert args.existing_dir(str(tmp_path)) == str(tmp_path)
    assert args.existing_dirs(f"{tmp_path},{tmp_path}") == [str(tmp_path)] * 2
    assert args.existing_file(str(tmp_path / "f.wav")) == str(tmp_path / "f.wav")
    with pytest.raises(argparse.ArgumentTypeError, match="no such folder"):
        args.existing_dir(str(tmp_path / "nope"))
    with pytest.raises(argparse.ArgumentTypeError, match="not a file"):
        args.existing_file(str(tmp_path))
    assert args.require_file(tmp_path / "f.wav", "--model", (".wav",)) == tmp_path / "f.wav"
    with pytest.raises(args.UsageError, match=r"--model .*f.wav: expected a .keras file"):
        args.require_file(tmp_path / "f.wav", "--model", (".keras",))
    with pytest.raises(args.UsageError, match="--run .*: not a folder"):
        args.require_dir(tmp_path / "f.wav", "--run")
    assert args.writable_dir(tmp_path / "new" / "deeper", "--out") == tmp_path / "new" / "deeper"
    with pytest.raises(args.UsageError, match="exists and is not a folder"):
        args.writable_dir(tmp_path / "f.wav", "--out")
    with pytest.raises(args.UsageError, match="is a folder, not a file"):
        args.writable_file(tmp_path, "--json")


def test_parser_errors_are_one_line_with_status_2(capsys):
    p = args.Parser(prog="tool", description="Does ``x`` with :func:`keras_audiosr.args.plain`.")
    p.add_argument("--n", type=args.positive_int, required=True)
    assert "keras_audiosr.args.plain" in p.description and "``" not in p.description
    with pytest.raises(SystemExit) as exit_info:
        p.parse_args(["--n", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == "tool: error: argument --n: expected a positive integer, got '0' (see --help)\n"
    assert p.fail("bad thing") == 2 and capsys.readouterr().err == "tool: error: bad thing\n"
