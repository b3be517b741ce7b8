"""The budget family: programs, projects and the sums over them."""
