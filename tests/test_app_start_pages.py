"""AppTest: the router, the home page and the tutorial tagger page."""
import pytest

from .apptest_util import assert_clean, button, open_page

pytestmark = pytest.mark.timeout(180)


def test_home_renders():
    at = open_page("app_pages/home.py")
    assert_clean(at)
    assert any("lstm-viz" in t.value for t in at.title)


def test_tutorial_tagger_trains_and_shows_gates():
    at = open_page("app_pages/tutorial_tagger.py")
    assert_clean(at)
    button(at, "Train it now").click()
    at.run()
    assert_clean(at)
    tags = [m.value for m in at.markdown if m.value.startswith("**Predicted tags:**")]
    assert tags and "`The`/**DET**" in tags[0] and "`dog`/**NN**" in tags[0] and "`ate`/**V**" in tags[0]
    assert len(at.get("plotly_chart")) == 1
    # unknown words are named, and an empty sentence gives a message, not a traceback
    at.text_input[0].set_value("The cat read that book").run()
    assert_clean(at)
    assert any("cat" in w.value for w in at.warning)
    at.text_input[0].set_value("   ").run()
    assert_clean(at)
    assert any("empty" in e.value for e in at.error)
