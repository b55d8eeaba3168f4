"""Telegram, on aiogram 3: the messenger, the rate governor, inbound mapping, deep links, update dedup.

aiogram objects stop here: what leaves this package is a domain value (`Interaction`, `Delivery`).
"""
