"""The shipped text of every templated mail, in business Japanese and in English.

Jinja2 templates (core.mail_templates renders them, trim_blocks and lstrip_blocks on): the
candidate is addressed with 様 / Dear, the company is in the subject, the format is said as an
online video interview, and the body gives the preparation (browser, camera and microphone, a
quiet place), the tenant's contact and how to ask for another date.
"""

from __future__ import annotations

_PREPARATION_JA = """■ ご準備いただきたいこと
・パソコンまたはスマートフォンと、最新のブラウザ（Google Chrome、Microsoft Edge、Safari など）
・カメラとマイク（ブラウザに使用の許可を求められたら「許可」を選んでください）
・静かで明るく、インターネット接続の安定した場所
"""

_PREPARATION_EN = """What to prepare
- A computer or smartphone with an up-to-date browser (Google Chrome, Microsoft Edge, Safari)
- A camera and a microphone (allow the browser to use them when it asks)
- A quiet, well-lit place with a stable internet connection
"""

_OVERVIEW_JA = """■ 面談の概要
{% if self_interview %}
受験期間：{{ date }}から{{ closes }}までの間、ご都合のよいときに受けてください。
{% else %}
日時：{{ date }}
所要時間：{{ minutes }}分
{% endif %}
形式：{{ format }}（ブラウザで参加するビデオ面談です。ご来社の必要はありません）
{% if title %}
面談名：{{ title }}
{% endif %}
"""

_OVERVIEW_EN = """The interview
{% if self_interview %}
Open: take it whenever you like from {{ date }} until {{ closes }}.
{% else %}
Date: {{ date }}
Length: {{ minutes }} minutes
{% endif %}
Format: {{ format }} (a video interview in your browser; there is no need to come to our office)
{% if title %}
Title: {{ title }}
{% endif %}
"""

_LINK_JA = """{% if link %}
■ 参加用リンク（{{ name }} 様専用です。他の方と共有しないでください）
{{ link }}

{% endif %}
"""

_LINK_EN = """{% if link %}
Your personal link (for you only; please do not share it)
{{ link }}

{% endif %}
"""

_CLOSING_JA = """{% if candidate %}
■ 日程の変更・ご辞退について
ご都合が悪くなった場合は、お手数ですが下記のお問い合わせ先までご連絡ください。新しい日程をご案内いたします。

{% endif %}
■ お問い合わせ先
{{ contact }}

何卒よろしくお願い申し上げます。

{{ company }}
"""

_CLOSING_EN = """{% if candidate %}
To move or cancel
If the time no longer suits you, please let us know at the contact below and we will offer another date.

{% endif %}
Contact
{{ contact }}

Kind regards,
{{ company }}
"""


def _interview(lead_ja: str, lead_en: str, subject_ja: str, subject_en: str) -> dict[str, tuple[str, str]]:
    body_ja = ("{{ name }} 様\n\n" + lead_ja + "\n\n" + _OVERVIEW_JA + "\n" + _LINK_JA + _PREPARATION_JA + "\n"
               + _CLOSING_JA)
    body_en = ("Dear {{ name }},\n\n" + lead_en + "\n\n" + _OVERVIEW_EN + "\n" + _LINK_EN + _PREPARATION_EN + "\n"
               + _CLOSING_EN)
    return {"ja": (subject_ja, body_ja), "en": (subject_en, body_en)}


DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "interview_scheduled": _interview(
        "{{ company }}でございます。このたびは選考にご応募いただき、誠にありがとうございます。\n"
        "{{ format }}のご案内をお送りいたします。",
        "Thank you for your interest in {{ company }}. We would like to invite you to the following "
        "{{ format | lower }}.",
        "【{{ company }}】{{ format }}のご案内（{{ date }}）",
        "[{{ company }}] Invitation: your {{ format | lower }} on {{ date }}"),
    "interview_rescheduled": _interview(
        "{{ company }}でございます。{{ format }}の日程を変更いたしましたので、新しい日程をご案内いたします。",
        "This is {{ company }}. Your {{ format | lower }} has been moved; the new date is below.",
        "【{{ company }}】{{ format }}日程変更のお知らせ（{{ date }}）",
        "[{{ company }}] Your {{ format | lower }} has been moved to {{ date }}"),
    "interview_reminder": _interview(
        "{{ company }}でございます。{% if self_interview %}セルフ面談の受付が明日から始まることをお知らせします。"
        "{% else %}明日の{{ format }}について、念のためご案内いたします。{% endif %}",
        "This is {{ company }}, with a reminder: {% if self_interview %}your self-interview opens tomorrow."
        "{% else %}your {{ format | lower }} is tomorrow.{% endif %}",
        "【{{ company }}】明日の{{ format }}のご案内（{{ date }}）",
        "[{{ company }}] Reminder: your {{ format | lower }} on {{ date }}"),
    "interview_cancelled": {
        "ja": ("【{{ company }}】{{ format }}中止のお知らせ（{{ date }}）",
               "{{ name }} 様\n\n{{ company }}でございます。\n"
               "誠に恐れ入りますが、{{ date }} に予定しておりました{{ format }}は中止となりました。\n"
               "ご予定を調整いただいたにもかかわらず、ご迷惑をおかけし申し訳ございません。\n\n" + _CLOSING_JA),
        "en": ("[{{ company }}] Your {{ format | lower }} on {{ date }} has been cancelled",
               "Dear {{ name }},\n\nThis is {{ company }}. We are sorry to let you know that the "
               "{{ format | lower }} planned for {{ date }} has been cancelled.\n\n" + _CLOSING_EN),
    },
    "expert_assignment": {
        "ja": ("【{{ company }}】面談評価のご依頼（{{ date }}）",
               "{{ name }} 様\n\nお世話になっております。{{ company }}でございます。\n"
               "下記の面談について、専門家として評価をお願いいたします。\n\n"
               "面談：{{ title }}\n日時：{{ date }}\n形式：{{ format }}\n\n"
               "面談の実施後、次のページから評価をご入力ください。\n{{ link }}\n\n"
               "評価の独立性を保つため、他の方の評価と AI のスコアは、ご自身の評価を保存した後に表示されます。\n\n"
               "評価をお待ちしている面談の一覧：\n{{ queue_link }}\n\n"
               "■ お問い合わせ先\n{{ contact }}\n\n何卒よろしくお願い申し上げます。\n\n{{ company }}\n"),
        "en": ("[{{ company }}] Request to evaluate an interview on {{ date }}",
               "Dear {{ name }},\n\nYou have been asked to evaluate an interview as an expert. "
               "Thank you for your help.\n\nInterview: {{ title }}\nDate: {{ date }}\nFormat: {{ format }}\n\n"
               "Once the interview has taken place, please enter your evaluation on its page:\n{{ link }}\n\n"
               "To keep evaluations independent, the other evaluations and the AI's scores are shown only "
               "after you have saved your own.\n\nInterviews waiting for your evaluation:\n{{ queue_link }}\n\n"
               "Contact\n{{ contact }}\n\nKind regards,\n{{ company }}\n"),
    },
    "staff_invitation": {
        "ja": ("【{{ company }}】面談システムへのご招待",
               "{{ name }} 様\n\n{{ company }}の面談システム（mendan）に、{{ role }}として登録されました。\n"
               "次のリンクを開いてパスワードを設定すると、サインインできるようになります。\n\n{{ link }}\n\n"
               "このリンクは{{ valid_days }}日間有効で、一度だけお使いいただけます。"
               "期限が切れた場合は、サインイン画面の「パスワードをお忘れの方」から設定できます。\n\n"
               "■ お問い合わせ先\n{{ contact }}\n\n何卒よろしくお願い申し上げます。\n\n{{ company }}\n"),
        "en": ("[{{ company }}] You are invited to the interview system",
               "Dear {{ name }},\n\nYou have been registered in {{ company }}'s interview system (mendan) as "
               "{{ role }}. Open this link to choose your password; you can then sign in.\n\n{{ link }}\n\n"
               "The link works once, for {{ valid_days }} days. After that, use \"Forgot your password?\" on the "
               "sign-in page.\n\nContact\n{{ contact }}\n\nKind regards,\n{{ company }}\n"),
    },
}
