"""Data-side helpers shared by the dataset modules and the trainers."""
