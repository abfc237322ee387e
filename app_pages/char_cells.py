"""Character cells: a character model of Python code, each character coloured by one unit's activation."""
import streamlit as st

from lstm_viz.files.inputs import InputError
from lstm_viz.teaching import char_page_data as data
from lstm_viz.teaching.builtin import load_builtin
from lstm_viz.teaching.char_data import PROPERTIES, PROPERTY_TITLES
from lstm_viz.teaching.char_view import scale_legend_html, table_html
from app_pages._common import session_cached
from app_pages._view import projector_on

INTRO = ("A character-level model read the Python standard library's own source, one character at a time, "
         "learning to predict the next one. Some of its units learned on their own to track the structure of "
         "code. Each character's background is one unit's value after reading it, on a fixed scale.")

st.title("Character cells")
if not projector_on():
    st.caption(INTRO)
slide = st.container()  # the coloured text right under the title (the slide); the pickers below it

models = {}
for arch in ("lstm", "gru"):
    try:
        models[arch] = load_builtin(f"stdlib-char-{arch}")
    except (FileNotFoundError, ValueError) as err:
        st.error(f"The {data.ARCH_TITLES[arch]} character model is not available: {err}")
if not models:
    st.stop()
bundles = {arch: bundle for arch, (_, bundle) in models.items()}

c1, c2 = st.columns([2, 3])
prop = c1.selectbox("Property", PROPERTIES, format_func=PROPERTY_TITLES.get, key="cc_property",
                    help="Each model's units are ranked by |r| with this property")
source = c2.radio("Text", ["A held-out stdlib file", "Your own code"], horizontal=True, key="cc_source")
held_out = list(next(iter(bundles.values())).extra.get("held_out_files") or [])
note = ""
try:
    if source == "Your own code":
        typed = st.text_area("Your code", data.DEFAULT_CODE, height=160, key="cc_code", max_chars=50_000,
                             help="Any text works; Python source shows the structure best. Long code is cut.")
        text, note = data.prepare_code(typed)
    else:
        name = c2.selectbox("File (never seen in training)", held_out, key="cc_file")
        text = data.held_out_sample(name, held_out)
except (InputError, ValueError) as err:
    st.error(str(err))
    st.stop()
if note:
    st.info(note)

font_px = 20 if projector_on() else 15
side_by_side = st.toggle("LSTM and GRU side by side", value=not projector_on(), key="cc_side_by_side",
                         help="Off: one above the other, full width")
pickers = st.columns(len(models), gap="medium")
blocks = slide.columns(len(models), gap="medium") if side_by_side else [slide.container() for _ in models]
for picker, block, (arch, (model, bundle)) in zip(pickers, blocks, models.items()):
    choice = picker.selectbox(f"{data.ARCH_TITLES[arch]} unit", data.unit_choices(bundle, prop),
                              format_func=lambda c, a=arch: c.label(a), key=f"cc_unit_{arch}_{prop}",
                              help="First the unit picked on training files, then others that correlate well "
                                   "on held-out files")
    states = session_cached(f"char_states_{arch}", model, text,
                            lambda m=model, b=bundle: data.record_states(m, b.encoder, text))
    block.html(data.unit_html(states, text, choice, arch, font_px, wrap=projector_on() or side_by_side))
slide.html(scale_legend_html("unit value: blue −1, white 0, red +1", font_px=font_px))
if projector_on():
    st.caption(INTRO)

st.subheader("Which unit tracks what")
st.caption("Each property's unit is picked on training files; r is its correlation over the held-out files.")
st.html(table_html(data.finding_rows(bundles), font_px=font_px))
for arch, bundle in bundles.items():
    st.caption(data.model_summary(arch, bundle))
