from store.prompts import diff_stats, line_diff, similarity, word_diff


def test_word_diff_ops_rebuild_both_sides():
    a = "The total is 42 dollars, paid."
    b = "The total is 43 euros, paid in full."
    ops = word_diff(a, b)
    assert "".join(o.a for o in ops) == a and "".join(o.b for o in ops) == b
    changed = [(o.op, o.a, o.b) for o in ops if o.op != "equal"]
    assert ("replace", "42 dollars", "43 euros") in changed
    assert ("insert", "", " in full") in changed
    replace = next(o for o in ops if o.op == "replace")
    assert a[replace.a_pos :].startswith("42") and b[replace.b_pos :].startswith("43")


def test_line_diff_positions_are_line_numbers():
    ops = line_diff("a\nb\nc\n", "a\nB\nc\nd\n")
    assert [(o.op, o.a_pos, o.b_pos) for o in ops] == [("equal", 1, 1), ("replace", 2, 2), ("equal", 3, 3), ("insert", 4, 4)]
    assert ops[1].a == "b\n" and ops[1].b == "B\n"


def test_stats_and_similarity():
    stats = diff_stats(word_diff("one two three", "one two four five"))
    assert (stats.words_added, stats.words_removed) == (2, 1)
    assert similarity("same", "same") == 1.0 and similarity("", "") == 1.0
    assert 0 < similarity("one two three", "one two four") < 1
