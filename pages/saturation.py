"""PLACEHOLDER: being written in this session."""
import streamlit as st

st.title("saturation")
st.info("This page is being built.")
