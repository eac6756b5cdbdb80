"""`{% load replies %}`: `{% ticket_replies ticket as replies %}` gives the reply templates that fit a ticket, filled
in (aftersales.selectors.reply_templates_for), so the ticket page's block needs no change to its view."""

from django import template

from aftersales.selectors import reply_templates_for

register = template.Library()


@register.simple_tag
def ticket_replies(ticket):
    return reply_templates_for(ticket)
