"""Tests that keep the architecture true: import contracts, no cycle, the layout, the shape of the code."""
