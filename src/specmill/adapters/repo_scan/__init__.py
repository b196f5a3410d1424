"""Helpers of the repo_map adapter: walk, parse, detect conventions, rank, render within a budget."""
