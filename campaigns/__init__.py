"""Campaigns: triggers, audiences, personalised messages and coupons, the scheduler, the outbox dispatcher."""
