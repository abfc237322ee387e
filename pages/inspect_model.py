"""PLACEHOLDER: being written in this session."""
import streamlit as st

st.title("inspect_model")
st.info("This page is being built.")
