"""PLACEHOLDER: being written in this session."""
import streamlit as st

st.title("truth_table")
st.info("This page is being built.")
