"""Low-quality text filters: HTML, entities, control characters, symbols, length, scripts (CJK and Latin)."""

from __future__ import annotations

import polars as pl

from seek.data.steps import Pipeline
from seek.data.text import LengthBounds, NormaliseText, ScriptCheck, StripHtml, SymbolRatio


def run(step: object, texts: list[str | None]) -> tuple[list, list]:
    result = Pipeline([step]).run(pl.DataFrame({"text": texts}, schema={"text": pl.String}))
    return result.kept["text"].to_list(), result.rejected["reason"].to_list()


def test_html_tags_scripts_comments_and_entities_are_stripped() -> None:
    kept, _ = run(
        StripHtml(),
        [
            "<p>Fish &amp; chips</p><script>alert('x')</script><!-- note -->",
            "caf&eacute; &#233;t&#xE9; &lt;tag&gt; &nbsp;end",
            "3 < 5 and a&b stay",
        ],
    )
    assert kept == ["Fish & chips", "café été <tag> end", "3 < 5 and a&b stay"]


def test_normalise_removes_control_characters_and_collapses_space() -> None:
    kept, _ = run(NormaliseText(), ["a\x00b\u200b c\t\n d", "ＡＢＣ１２３"])
    assert kept == ["ab c d", "ABC123"]


def test_length_counts_characters_so_cjk_is_measured_right() -> None:
    kept, reasons = run(LengthBounds(min_chars=4, max_chars=6), ["肺部结节", "短", "abcdefg", None])
    assert kept == ["肺部结节"]
    assert reasons == ["too short: 1 < 4 characters", "too long: 7 > 6 characters", "missing text"]


def test_symbol_ratio_rejects_junk_but_not_cjk_punctuation() -> None:
    kept, reasons = run(SymbolRatio(max_ratio=0.3), ["$$$ ### !!!", "货物已经到达港口。", "normal, text."])
    assert kept == ["货物已经到达港口。", "normal, text."]
    assert reasons == ["symbol ratio 0.82 > 0.3"]  # 9 symbols in 11 characters


def test_script_check_keeps_chinese_and_english_and_rejects_other_scripts_and_mojibake() -> None:
    kept, reasons = run(
        ScriptCheck(languages=["zh", "en"]), ["肺部结节需要复查", "card fraud", "Привет мир", "cafÃ© au lait", "12345"]
    )
    assert kept == ["肺部结节需要复查", "card fraud", "12345"]
    assert reasons == ["script: only 0.0 of letters in Han/Latin", "mojibake: text looks mis-decoded (wrong charset)"]
