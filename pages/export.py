"""PLACEHOLDER: being written in this session."""
import streamlit as st

st.title("export")
st.info("This page is being built.")
