"""PLACEHOLDER: being written in this session."""
import streamlit as st

st.title("gradients")
st.info("This page is being built.")
