import pytest

from apps.programs.quantities import format_count, parse_count, parse_count_list


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("300B", 300 * 10**9),
        ("2T", 2 * 10**12),
        ("1.5e12", 1_500_000_000_000),
        ("2,000,000", 2_000_000),
        ("3000亿", 3 * 10**11),
        ("2万亿", 2 * 10**12),
        ("150万", 1_500_000),
        ("4k", 4000),
        (" 7 B ", 7 * 10**9),
    ],
)
def test_it_parses_counts_as_people_write_them(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.5", "2X", "1e-3"])
def test_it_rejects_what_is_not_a_whole_count(text):
    with pytest.raises(ValueError):
        parse_count(text)


def test_it_formats_counts_in_the_languages_units():
    assert format_count(2e12, "en") == "2T"
    assert format_count(300e9, "en") == "300B"
    assert format_count(2e12, "zh-hans") == "2万亿"
    assert format_count(300e9, "zh-hans") == "3000亿"
    assert format_count(1.5e6, "zh-hans") == "150万"


def test_it_parses_a_ladder_list():
    assert parse_count_list("1B, 8B; 64B") == [10**9, 8 * 10**9, 64 * 10**9]
