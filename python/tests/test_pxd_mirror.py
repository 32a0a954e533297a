"""cmembuf.pxd must mirror include/membuf.h: every function, type, struct field, enum constant and
version macro of the header is declared in the .pxd (and the .pxd declares no mb_/MB_ name the
header lacks), so a change of the header fails here until the .pxd follows it."""
import os
import re

import pytest

import membuf

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "..", "..", "include", "membuf.h")
PXD = os.path.join(HERE, "..", "membuf", "cmembuf.pxd")


def strip_c_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_declarations(text):
    """{kind: set of names} declared by a C header (the subset of C membuf.h uses)."""
    text = strip_c_comments(text)
    text = re.sub(r'extern\s+"C"\s*\{', " ", text)
    found = {"function": set(), "type": set(), "constant": set(), "field": set(),
             "macro": set()}
    for name, value in re.findall(r"^\s*#\s*define\s+(\w+)[ \t]+([^\n]*)$", text, re.M):
        if re.fullmatch(r"\s*(-?\d+[uUlL]*|\"[^\"]*\")\s*", value):
            found["macro"].add(name)
    code = re.sub(r"^\s*#[^\n]*$", " ", text, flags=re.M)
    for kind, tag, body, name in re.findall(r"typedef\s+(struct|enum)\s+(\w*)\s*\{(.*?)\}\s*(\w+)\s*;",
                                            code, re.S):
        found["type"].add(name)
        if kind == "enum":
            for item in body.split(","):
                if item.strip():
                    found["constant"].add(re.match(r"\s*(\w+)", item).group(1))
        else:
            for decl in body.split(";"):
                if not decl.strip():
                    continue
                pointer = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
                if pointer:
                    found["field"].add(pointer.group(1))
                    continue
                decl = re.sub(r"\[[^\]]*\]", "", decl)
                parts = decl.split(",")
                found["field"].add(re.findall(r"\w+", parts[0])[-1])
                for part in parts[1:]:
                    found["field"].add(re.findall(r"\w+", part)[-1])
    found["type"].update(re.findall(r"typedef\s+struct\s+\w+\s+(\w+)\s*;", code))
    found["type"].update(re.findall(r"typedef[^;{}]*\(\s*\*\s*(\w+)\s*\)\s*\(", code))
    top = re.sub(r"\{[^{}]*\}", "{}", code)
    top = re.sub(r"typedef[^;]*;", " ", top)
    found["function"].update(re.findall(r"\b(mb_\w+)\s*\(", top))
    return found


def pxd_text():
    with open(PXD) as f:
        return re.sub(r"#[^\n]*", " ", f.read())


def test_header_parser_sees_the_whole_api():
    with open(HEADER) as f:
        found = header_declarations(f.read())
    # A parser that sees nothing would pass everything: pin names of every kind.
    assert {"mb_malloc", "mb_alloc_custom_new", "mb_set_violation_handler",
            "mb_buf_fill_normal"} <= found["function"]
    assert {"mb_alloc", "mb_alloc_vtable", "mb_violation_fn", "mb_buf", "mb_rng",
            "mb_status"} <= found["type"]
    assert {"MB_OK", "MB_FAIL_ALWAYS", "MB_DOUBLE_FREE", "MB_LEAK"} <= found["constant"]
    assert {"live_blocks", "failures", "malloc", "free", "s", "data", "alloc"} <= found["field"]
    assert {"MEMBUF_VERSION_MAJOR"} <= found["macro"]
    assert len(found["function"]) >= 25


@pytest.mark.smoke
def test_every_header_name_is_declared_in_the_pxd():
    with open(HEADER) as f:
        found = header_declarations(f.read())
    words = set(re.findall(r"\w+", pxd_text()))
    missing = {kind: sorted(names - words) for kind, names in found.items() if names - words}
    assert not missing, f"declared in include/membuf.h, missing from cmembuf.pxd: {missing}"


def test_pxd_declares_nothing_the_header_lacks():
    with open(HEADER) as f:
        header_words = set(re.findall(r"\w+", strip_c_comments(f.read())))
    ours = set(re.findall(r"\b(?:mb_|MB_|MEMBUF_)\w+", pxd_text()))
    assert not ours - header_words, f"in cmembuf.pxd, not in membuf.h: {sorted(ours - header_words)}"


def test_every_function_has_its_exception_clause_written_out():
    lines = [l for l in pxd_text().splitlines() if re.search(r"\bmb_\w+\s*\(", l)]
    assert lines
    bare = [l.strip() for l in lines if "noexcept" not in l]
    assert not bare, f"declarations without an exception clause: {bare}"


def test_the_package_ships_the_header_it_was_built_with():
    with open(HEADER) as a, open(os.path.join(membuf.get_include(), "membuf.h")) as b:
        assert a.read() == b.read(), "membuf.get_include()/membuf.h differs: rebuild the package"
