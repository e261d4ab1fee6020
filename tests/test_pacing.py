"""Pacing: each slide's time estimated from its notes (talkbuild/pacing.py)."""

import re

import pytest

from talkbuild import pacing
from talkbuild.build import PROJECT, BuildConfig, render
from talkbuild.cli import main
from talkbuild.pacing import MIN_SLIDE, MIN_STEP, SPEAKING_RATE, estimate, steps, words


def rendered(tmp_path, text: str):
    source = tmp_path / "deck.md"
    source.write_text(text, encoding="utf-8")
    deck = render(BuildConfig(source=source, output=tmp_path / "out", figures=False))
    assert not [d for d in deck.diagnostics if d.is_error], deck.diagnostics
    return deck


def sections(page: str) -> list[str]:
    return re.findall(r"<section([^>]*)>", page)


def test_words_are_counted_in_the_notes_text_without_markup():
    assert words("<p>One <em>two</em> three&nbsp;four</p>\n<ul><li>five</li></ul>") == 5


def test_steps_are_fragments_and_code_line_highlight_steps():
    html = (
        '<p class="fragment">a</p><li class="fragment fade-up">b</li><p class="fragmented">c</p>'
        '<pre><code data-line-numbers="|1-2|3">x</code></pre><pre><code data-line-numbers="">y'
    )
    assert steps(html) == 2 + 2


def test_a_slide_takes_as_long_as_its_notes_at_the_speaking_rate():
    assert estimate(int(SPEAKING_RATE), 0) == 60
    assert estimate(300, 0, rate=150) == 120


def test_a_slide_takes_at_least_the_minimum_plus_a_minimum_per_step():
    assert estimate(0, 0) == MIN_SLIDE
    assert estimate(0, 3) == MIN_SLIDE + 3 * MIN_STEP
    # Notes that take longer than the steps decide.
    assert estimate(260, 3) == 120


@pytest.mark.parametrize("count", [0, 1, 7, 130, 1000])
def test_the_estimate_never_falls_below_either_part(count):
    seconds = estimate(count, 2)
    assert seconds >= MIN_SLIDE + 2 * MIN_STEP
    assert seconds >= round(count * 60 / SPEAKING_RATE)


def test_the_build_writes_data_timing_and_total_time(tmp_path):
    notes = " ".join(["word"] * 65)  # 30 s at 130 words a minute
    deck = rendered(
        tmp_path,
        f"---\nduration: 10\n---\n\n# One\n\nNote:\n{notes}\n\n---\n\n# Two\n\n"
        '- a <!-- .element: class="fragment" -->\n- b <!-- .element: class="fragment" -->\n',
    )
    assert [re.search(r'data-timing="(\d+)"', s).group(1) for s in sections(deck.page)] == [
        "30",
        str(MIN_SLIDE + 2 * MIN_STEP),
    ]
    assert '"totalTime": 600' in deck.page


def test_a_data_timing_given_by_hand_wins(tmp_path):
    deck = rendered(
        tmp_path,
        '---\nspeaking_rate: 100\n---\n\n# One\n<!-- .slide: data-timing="95" -->\n'
        "\n---\n\n# Two\n",
    )
    assert [re.search(r'data-timing="(\d+)"', s).group(1) for s in sections(deck.page)] == [
        "95",
        str(MIN_SLIDE),
    ]
    # Without a duration, totalTime is the slides' total.
    assert f'"totalTime": {95 + MIN_SLIDE}' in deck.page


def test_a_speaking_rate_changes_the_estimate(tmp_path):
    notes = " ".join(["word"] * 100)
    slow = rendered(tmp_path, f"---\nspeaking_rate: 50\n---\n\n# One\n\nNote: {notes}\n")
    assert 'data-timing="120"' in slow.page


def test_without_duration_or_rate_nothing_is_added(tmp_path):
    deck = rendered(tmp_path, "# One\n\nNote: a few words\n")
    assert "data-timing" not in deck.page and "totalTime" not in deck.page


def test_the_timing_table_lists_every_slide_with_the_cumulative_time(tmp_path, capsys):
    source = tmp_path / "deck.md"
    notes = " ".join(["word"] * 130)
    source.write_text(
        f"---\nduration: 2\n---\n\n# First\n\nNote: {notes}\n\n"
        "---\n\n# Second\n\n-v-\n\n## Below\n",
        encoding="utf-8",
    )
    assert main([str(source), "--timing"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["slide", "title", "words", "steps", "time", "total"]
    assert out[1].split() == ["1", "First", "130", "0", "1:00", "1:00"]
    assert out[2].split() == ["2.1", "Second", "0", "0", "0:20", "1:20"]
    assert out[3].split() == ["2.2", "Below", "0", "0", "0:20", "1:40"]
    assert out[4] == "total 1:40 for 3 slides of a 2:00 duration: 0:20 to spare"
    assert not (tmp_path / "out").exists()  # --timing writes nothing


def test_the_timing_table_says_when_the_talk_is_over(tmp_path, capsys):
    source = tmp_path / "deck.md"
    source.write_text("---\nduration: 0.25\n---\n\n# One\n\n---\n\n# Two\n", encoding="utf-8")
    assert main([str(source), "--timing"]) == 0
    captured = capsys.readouterr()
    assert "total 0:40 for 2 slides of a 0:15 duration: 0:25 OVER" in captured.out
    assert "deck.md:2: warning: the slides' estimated time, 0:40, is over the duration" in (
        captured.err
    )


def test_clock_shows_minutes_and_seconds():
    assert [pacing.clock(s) for s in (0, 59, 61, 3600 + 62)] == ["0:00", "0:59", "1:01", "1:01:02"]


def test_the_talk_fits_its_duration(regenerated_figures):
    deck = render(BuildConfig(source=PROJECT / "slides", figures=False))
    talk, _ = pacing.pace(deck.deck)
    assert talk.duration is not None
    assert not talk.over, pacing.table(talk)
    assert f'"totalTime": {round(talk.duration * 60)}' in deck.page
