"""The bot's routers, one per feature; `adapters.telegram.bot.assemble` includes them in one place."""

from aiogram.enums import ChatType

GROUP_CHATS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})
TEACHER_COMMANDS = ("schedule", "live", "end", "poll", "offer", "stats", "hot", "why")


def reply_key(chat_id: int, message_id: int) -> str:
    """The key of the answer to one message (the messenger remembers split sends under it)."""
    return f"tg:reply:{chat_id}:{message_id}"
