"""Server errors in words by their code: no English on a Chinese screen, the detail in English."""
from __future__ import annotations

import re

from onemap.app.errorwords import WORDS, words
from onemap.app.ogcclient import OgcError, explain

LATIN = re.compile(r"[A-Za-z]{2,}")


def test_every_code_has_both_languages_and_chinese_has_no_english() -> None:
    for code, (zh, en) in WORDS.items():
        assert zh and en and not LATIN.search(zh.replace("HTTP", "")), code
    assert words("Forbidden", 403, "zh", "edit features needs the commander role") == \
        "当前账号无权执行此操作（角色或辖区不符）"
    assert words("Forbidden", 403, "en", "edit features needs the commander role") == \
        "This account may not do this (role or region) (edit features needs the commander role)"
    assert words("Whatever", 409, "zh") == "服务器拒绝了请求（HTTP 409）"
    assert words("Whatever", 502, "en") == "The server failed (HTTP 502)"


def test_panels_word_the_other_codes_by_the_table() -> None:
    err = OgcError(413, "PayloadTooLarge", "", "body over ONEMAP_MAX_BODY_MB (50)")
    assert explain(err, "zh") == "文件或内容超过服务器允许的大小"
    assert explain(err, "en").startswith("Larger than this server accepts (body over")
    # the codes the panels word themselves (with the field's label) keep their own words
    bad = OgcError(400, "InvalidParameterValue", "lat", "lat out of range")
    assert "纬度" in explain(bad, "zh", {"lat": "纬度"})
