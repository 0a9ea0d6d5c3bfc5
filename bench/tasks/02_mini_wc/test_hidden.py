import script


def write(tmp_path, text, name="sample.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_default_prints_all_three(tmp_path, capsys):
    path = write(tmp_path, "hello world\nsecond line here\n")
    code = script.main([path])
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip() == f"2 5 29 {path}"


def test_lines_only(tmp_path, capsys):
    path = write(tmp_path, "a\nb\nc\n")
    assert script.main(["-l", path]) == 0
    assert capsys.readouterr().out.strip() == f"3 {path}"


def test_words_only(tmp_path, capsys):
    path = write(tmp_path, "  one\ttwo   three\n\nfour ")
    assert script.main(["-w", path]) == 0
    assert capsys.readouterr().out.strip() == f"4 {path}"


def test_flag_order_does_not_matter(tmp_path, capsys):
    path = write(tmp_path, "ab cd\n")
    assert script.main(["-c", "-w", path]) == 0
    assert capsys.readouterr().out.strip() == f"2 6 {path}"


def test_characters_not_bytes(tmp_path, capsys):
    path = write(tmp_path, "café ñ\n")
    assert script.main(["-c", path]) == 0
    assert capsys.readouterr().out.strip() == f"7 {path}"


def test_last_line_without_newline_counts(tmp_path, capsys):
    path = write(tmp_path, "first\nsecond")
    assert script.main(["-l", path]) == 0
    assert capsys.readouterr().out.strip() == f"2 {path}"


def test_empty_file(tmp_path, capsys):
    path = write(tmp_path, "")
    assert script.main([path]) == 0
    assert capsys.readouterr().out.strip() == f"0 0 0 {path}"


def test_missing_file(tmp_path, capsys):
    path = str(tmp_path / "does_not_exist.txt")
    code = script.main([path])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.strip() != ""
