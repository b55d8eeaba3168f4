"""Small frozen values that every part of ClassPulse passes around; this package imports nothing of ours."""

from bot.domain.classes import ClassSession, ClassState
from bot.domain.coupons import Coupon, CouponKind, CouponStatus
from bot.domain.errors import DomainError, InvalidTransition
from bot.domain.interactions import Interaction, InteractionKind, is_question, question_text
from bot.domain.learners import Learner
from bot.domain.messages import Button, Delivery, DeliveryStatus, OutboundMessage
from bot.domain.offers import FlashOffer
from bot.domain.platforms import Identity, Platform
from bot.domain.purchases import Purchase
from bot.domain.relay import LinkGrant
from bot.domain.scores import LearnerActivity, LearnerScore, Segment

__all__ = [
    "Button",
    "ClassSession",
    "ClassState",
    "Coupon",
    "CouponKind",
    "CouponStatus",
    "Delivery",
    "DeliveryStatus",
    "DomainError",
    "FlashOffer",
    "Identity",
    "Interaction",
    "InteractionKind",
    "InvalidTransition",
    "Learner",
    "LearnerActivity",
    "LearnerScore",
    "LinkGrant",
    "OutboundMessage",
    "Platform",
    "Purchase",
    "Segment",
    "is_question",
    "question_text",
]
