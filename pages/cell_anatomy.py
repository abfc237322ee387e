"""PLACEHOLDER: being written in this session."""
import streamlit as st

st.title("cell_anatomy")
st.info("This page is being built.")
