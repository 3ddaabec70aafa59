"""placeholder"""
ROUTES: list = []
