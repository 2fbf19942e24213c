"""Matching's plain-Python parts: the rules' criteria catalogue and matching's refusals."""
