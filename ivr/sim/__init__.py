"""Simulated callers: one caller that speaks HTTP exactly as Twilio does, and its front ends
(terminal, scripted calls, browser phone, load)."""
