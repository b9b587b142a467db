"""figures.figure_summary: the words beside every chart (components.figure_card)."""
from dashboard.figures import figure_summary


def test_a_trend_gives_first_last_lowest_and_highest_of_each_series():
    fig = {"data": [{"type": "scatter", "name": "Thurrock", "x": ["2016", "2017", "2018"], "y": [40.1, None, 52]},
                    {"type": "scatter", "name": "England", "x": ["2016", "2018"], "y": [43.0, 42.5]}],
           "layout": {"title": {"text": "Rate <b>per 10,000</b>"}}}
    text = figure_summary(fig)
    assert text.startswith("Rate per 10,000. ")
    assert "Thurrock: 40.1 in 2016 and 52 in 2018; lowest 40.1 (2016), highest 52 (2018)" in text
    assert "England: 43 in 2016 and 42.5 in 2018" in text


def test_bars_give_highest_and_lowest_and_nothing_is_said_without_values():
    bars = {"data": [{"type": "bar", "orientation": "h", "x": [3, 9, None], "y": ["Neglect", "Emotional abuse", "x"]}],
            "layout": {}}
    assert figure_summary(bars) == "Values: highest Emotional abuse (9), lowest Neglect (3), 2 bars. " \
                                   "The table has every value."
    assert figure_summary({"data": [{"x": ["a"], "y": [None]}], "layout": {"title": {"text": "T"}}}) == \
        "T: no values to show."
