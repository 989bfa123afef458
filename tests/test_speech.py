import numpy as np
import pytest

from kdanim.narration.speech import (
    SHORT_SENTENCE,
    count, decimal, micros, percent, points, points_vs, ratio, sentences, split_cues, wrap_cue,
)


# ---------------------------------------------------------------- numbers

@pytest.mark.parametrize("x, digits, want", [
    (0.8612, 0, "86 percent"),
    (0.8612, 1, "86.1 percent"),
    (0.8, 1, "80 percent"),
    (1.0, 0, "100 percent"),
    (0.0, 0, "0 percent"),
    (0.004, 0, "under 1 percent"),
    (0.997, 0, "over 99 percent"),
    (0.9951, 1, "99.5 percent"),
    (0.995, 0, "over 99 percent"),
])
def test_percent(x, digits, want):
    assert percent(x, digits) == want


@pytest.mark.parametrize("diff, want", [
    (0.8612 - 0.8012, "6 points"),
    (-0.06, "6 points"),
    (0.01, "1 point"),
    (0.004, "0.4 points"),
    (0.0151, "1.5 points"),
    (0.2049, "20 points"),
])
def test_points(diff, want):
    assert points(diff) == want


def test_points_vs_direction():
    assert points_vs(0.06) == "6 points above"
    assert points_vs(-0.02) == "2 points below"
    assert points_vs(0.0001) == "level with"
    assert points_vs(0.03, above="better", below="worse") == "3 points better"


@pytest.mark.parametrize("n, want", [
    (5, "5"),
    (850, "850"),
    (1000, "1000"), (1500, "1500"), (12_000, "12 thousand"),
    (2450, "about 2.5 thousand"),
    (7850, "about 8 thousand"),
    (9800, "9800"), (9850, "about 10 thousand"),
    (119_818, "about 120 thousand"),
    (120_000, "120 thousand"),
    (999_400, "about 1 million"),
    (1_234_567, "about 1.2 million"),
    (25_000_000, "25 million"),
    (3_000_000_000, "3 billion"),
])
def test_count(n, want):
    assert count(n) == want


def test_count_is_monotone_in_its_rounded_value():
    rng = np.random.default_rng(0)
    for n in rng.integers(1000, 10**8, size=300):
        text = count(int(n)).removeprefix("about ")
        num, word = text.split()
        scale = {"thousand": 1e3, "million": 1e6, "billion": 1e9}[word]
        assert abs(float(num) * scale - n) / n < 0.17, (n, text)


def test_decimal_ratio_micros():
    assert decimal(0.3149) == "0.31"
    assert decimal(0.3149, 3) == "0.315"
    assert decimal(-0.3149) == "minus 0.31"
    assert decimal(-0.001) == "0.00"
    assert ratio(15.3) == "15 times"
    assert ratio(2.46) == "2.5 times"
    assert ratio(3.0) == "3 times"
    assert micros(3.21) == "3.2 microseconds"
    assert micros(48.7) == "49 microseconds"
    assert micros(1.0) == "1 microsecond"


@pytest.mark.parametrize("fn", [percent, points, count, decimal, ratio, micros])
def test_bad_numbers_are_refused(fn):
    with pytest.raises(ValueError, match=fn.__name__):
        fn(float("nan"))
    with pytest.raises(ValueError):
        fn("lots")


def test_changing_the_number_changes_the_text():
    assert percent(0.86) != percent(0.87)
    assert count(119_818) != count(45_000)


# ---------------------------------------------------------------- cues

LONG = ("After 100 epochs the distilled student reaches 86 percent — 6 points above the same "
        "network trained from scratch, which had exactly the same architecture, the same data "
        "and the same number of epochs. Why? Because the teacher's soft targets carry "
        "information: which classes resemble each other, and by how much. The temperature tau "
        "equals 3, and alpha equals 0.7.")


def test_sentences_do_not_split_decimals():
    assert sentences("Alpha is 0.7. Tau is 3!  Done?") == ["Alpha is 0.7.", "Tau is 3!", "Done?"]


def _sentence_of(chunk, sents):
    """The sentence ``chunk`` is a piece of; besides it, the chunk may hold only whole short sentences."""
    own = [p for p in sentences(chunk) if not (p in sents and len(p) < SHORT_SENTENCE)]
    hits = [i for i, s in enumerate(sents) if own and own == [own[0]] and own[0] in s]
    assert hits or not own, f"chunk {chunk!r} spans sentences"
    return hits[0] if hits else None


def test_split_cues_limits_and_sentence_boundaries():
    cues = split_cues(LONG)
    sents = sentences(LONG)
    assert " ".join(cues) == " ".join(LONG.split())       # nothing lost or reordered
    for c in cues:
        assert len(c) <= 84
        _sentence_of(c, sents)                               # never across sentences
        lines = wrap_cue(c).split("\n")
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines), c
    assert "Why? Because the teacher's soft targets carry information:" in cues  # a short sentence joins the next


def test_split_cues_prefers_clause_boundaries():
    cues = split_cues(LONG)
    assert cues[0].endswith("—")
    assert any(c.endswith(",") for c in cues)
    assert any(c.endswith(":") for c in cues)


def test_split_cues_random_text_properties():
    rng = np.random.default_rng(1)
    words = ["the", "student", "distillation", "temperature", "soft", "targets,", "tau", "3,",
             "accuracy", "percent", "network", "parameters", "about", "120", "thousand;",
             "teacher", "knowledge", "—", "classes", "resemble", "each", "other:"]
    for _ in range(200):
        n_sent = rng.integers(1, 4)
        text = " ".join(" ".join(rng.choice(words, size=rng.integers(1, 40))) + "."
                        for _ in range(n_sent))
        cues = split_cues(text, max_chars=84, line_chars=42)
        assert " ".join(cues) == " ".join(text.split())
        sents = sentences(text)
        for c in cues:
            assert 0 < len(c) <= 84
            _sentence_of(c, sents)
            lines = wrap_cue(c).split("\n")
            assert len(lines) <= 2 and max(map(len, lines)) <= 42


def test_split_cues_smaller_limits_and_long_word():
    cues = split_cues("Supercalifragilisticexpialidocious is long. Short.", max_chars=20, line_chars=10)
    assert cues[0] == "Supercalifragilisticexpialidocious"      # a lone long word stays whole
    assert cues[-1] == "is long. Short."                         # a short sentence joins the one before
    with pytest.raises(ValueError):
        split_cues("x", max_chars=2)
    assert split_cues("   ") == []


def test_wrap_cue_balances_two_lines():
    text = "the distilled student reaches 86 percent on the test set"
    a, b = wrap_cue(text).split("\n")
    assert abs(len(a) - len(b)) <= 12
    assert wrap_cue("short one") == "short one"
    # anything longer than two lines is still kept, on two lines
    long = " ".join(["word"] * 40)
    assert len(wrap_cue(long).split("\n")) == 2
    assert wrap_cue(long).split() == long.split()


def test_split_cues_leaves_no_short_tail():
    """Pieces of a sentence are as even as they can be, cut at clauses or before a phrase, never a lone tail."""
    assert split_cues("How close is the student to the teacher? The KL divergence from teacher to student, "
                      "measured on the test set at tau 3, answers that. The goal is zero.") == [
        "How close is the student to the teacher?", "The KL divergence from teacher to student,",
        "measured on the test set at tau 3, answers that.", "The goal is zero."]
    assert split_cues("The hard part is the cross-entropy between the true label and the student's prediction, "
                      "weighted by one minus alpha.") == [
        "The hard part is the cross-entropy between the true label",
        "and the student's prediction, weighted by one minus alpha."]
    assert split_cues("To sum up. The teacher reached 92 percent.") == ["To sum up. The teacher reached 92 percent."]
