"""The server side: a throwaway server, its status counters, the check before measuring."""
