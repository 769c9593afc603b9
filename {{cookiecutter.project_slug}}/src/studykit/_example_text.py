# ruff: noqa: E501 (prose: sentences read better unbroken)
"""The words of the synthetic example: transcripts, codebook, themes, propositions, notes.

Everything here was written for studykit's example. It is invented, quotes no
publication, names no real person, place or organisation, and holds no
identifiers (no emails, phone numbers, postcodes, NHS numbers or birth dates),
so the disclosure checks stay clean. The themes echo the published themes of
the model study; the sentences are ours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SYNTHETIC = "Synthetic example data made by studykit; no real person, place or organisation."

# --- study-defined instruments ------------------------------------------------------------------

MJS_LABELS = {
    1: "Very dissatisfied",
    2: "Dissatisfied",
    3: "Neither satisfied nor dissatisfied",
    4: "Satisfied",
    5: "Very satisfied",
}
TEAM_LABELS = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
}
_INVENTED = (
    "The item structure of this measure is not public (it was not retrieved): the number of items "
    "per subscale here is INVENTED for the synthetic example, and items carry no text. A study that "
    "holds the real instrument replaces the items with the published ones."
)
MJS_HEAD = {
    "comment": (
        "# Measure of Job Satisfaction (Traynor & Wade 1993), as the synthetic example defines it.\n"
        "# The subscales and the 1-5 item-mean scoring follow Gillard et al. 2022 Table 3; the item\n"
        "# structure is not public, so the item counts per subscale are INVENTED and items have no text.\n"
        "# Norms: the Table 3 norm column as printed (verified: true means read from Table 3).\n"
    ),
    "name": "Measure of Job Satisfaction (MJS), example definition",
    "construct": "job satisfaction",
    "citation": (
        "Traynor M, Wade B. The development of a measure of job satisfaction for use in monitoring the "
        "morale of community nurses in four trusts. Journal of Advanced Nursing 1993;18(1):127-136."
    ),
    "licence": (
        "Published in a journal; the item wording belongs to the publisher or the authors and is not "
        "redistributed. Ask the authors before using the items."
    ),
    "norm_population": "Norm column of Gillard et al. 2022 Table 3 (its source population is not given there)",
    "notes": [
        _INVENTED,
        "Subscale scores are item means on 1-5, as reported by Gillard et al. 2022.",
        "The original is described as 38 items in 7 subscales plus overall satisfaction (unverified).",
        "Only the end labels of the scale (1 very dissatisfied, 5 very satisfied) are documented; the "
        "middle labels are assumed.",
    ],
}
TEAM_HEAD = {
    "comment": (
        "# Interdisciplinary team survey (Temkin-Greener et al. 2004), as the synthetic example defines it.\n"
        "# The six domains and the 1-5 item-mean scoring follow Gillard et al. 2022 Table 3; the item\n"
        "# structure is not public, so the item counts per domain are INVENTED and items have no text.\n"
        "# Norms: the Table 3 norm column as printed (verified: true means read from Table 3).\n"
    ),
    "name": "Interdisciplinary Team Performance survey (team working), example definition",
    "construct": "multidisciplinary team working",
    "citation": (
        "Temkin-Greener H, Gross D, Kunitz SJ, Mukamel D. Measuring interdisciplinary team performance "
        "in a long-term care setting. Medical Care 2004;42(5):472-481."
    ),
    "licence": "Published in a journal with no clear licence for the items; ask the authors before using them.",
    "norm_population": "Norm column of Gillard et al. 2022 Table 3 (probably the PACE staff survey; not verified)",
    "notes": [
        _INVENTED,
        "Five-point Likert scale, scored as domain item means on 1-5 (adapted from Shortell); the "
        "agreement labels are assumed.",
        "Perceived team effectiveness has no norm: that part of the published table was not retrieved.",
    ],
}

# --- governance -----------------------------------------------------------------------------------

COMMITTEE = "Example Research Ethics Committee (synthetic)"
ETHICS_HEAD = (
    "# Synthetic example: an invented committee and reference.\n"
    "# expires_on lies far in the future on purpose: studykit warns about approvals that expire\n"
    "# within 60 days of the day validation runs, and the example must stay clean whenever it is baked.\n"
)
REASON_NO_FURTHER = "Left the peer worker post and did not want to be contacted again"
REASON_REMOVE_ALL = "Asked for all of their data to be removed from the study"

# Focus-group members: role, gender, age (all invented).
FG_ROLES = (
    (
        ("community mental health nurse", "woman", 46),
        ("social worker", "man", 39),
        ("occupational therapist", "woman", 33),
        ("consultant psychiatrist", "man", 52),
        ("community mental health nurse", "woman", 41),
    ),
    (
        ("team manager", "woman", 49),
        ("clinical psychologist", "woman", 37),
        ("community mental health nurse", "man", 44),
        ("support time and recovery worker", "woman", 29),
        ("social worker", "woman", 56),
    ),
)

# --- coding ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    id: str
    name: str
    parent: str | None
    definition: str


CODEBOOK = (
    Code("valued", "Valued and connected", None, "Parent code: feeling that the role and the person matter."),
    Code(
        "lived_experience",
        "Lived experience as an asset",
        "valued",
        "Own experience of mental distress described as useful to the work or recognised by others.",
    ),
    Code(
        "connection",
        "Connecting with service users",
        "valued",
        "Building trust, hope or a different kind of relationship with the people supported.",
    ),
    Code(
        "belonging",
        "Belonging to the service",
        "valued",
        "Feeling part of the team or the wider service, or feeling left outside it.",
    ),
    Code(
        "demands",
        "Adjusting to the demands of the role",
        None,
        "Parent code: what the work asks of the peer worker and how they cope.",
    ),
    Code(
        "emotional_load",
        "Emotional load",
        "demands",
        "Distress, worry or memories stirred up by the work; carrying other people's stories.",
    ),
    Code("workload", "Workload and pace", "demands", "Caseload, paperwork, travel, time pressure."),
    Code(
        "self_care",
        "Looking after own wellbeing",
        "demands",
        "Strategies, boundaries and time off used to stay well.",
    ),
    Code(
        "support",
        "Supervision and the peer team",
        None,
        "Parent code: support from supervisors, managers and other peer workers.",
    ),
    Code("supervision", "Supervision", "support", "Regular or ad hoc supervision, its quality and its gaps."),
    Code("peer_team", "Peer team support", "support", "Support from and solidarity with other peer workers."),
    Code(
        "clarity",
        "Role clarity and team preparation",
        None,
        "Parent code: how well the role is understood by the peer worker and the team.",
    ),
    Code(
        "role_ambiguity",
        "Unclear role",
        "clarity",
        "Uncertainty about what the role is or is not; being asked to do other jobs.",
    ),
    Code(
        "team_preparation",
        "Team preparation",
        "clarity",
        "Whether the host team was ready for a peer worker: induction, expectations, attitudes.",
    ),
    Code("insecurity", "Job insecurity", None, "Parent code: contracts, pay and the future of the post."),
    Code(
        "fixed_term", "Fixed-term contracts", "insecurity", "Temporary posts, contract end dates, renewals."
    ),
    Code(
        "future_plans", "Plans for the future", "insecurity", "Career hopes, next steps, staying or leaving."
    ),
)

THEMES_HEAD = (
    "# Themes of the synthetic example: they echo the published themes of the model study;\n"
    "# the wording is invented. constructs link each theme to quantitative scores (instrument.score).\n"
)
THEMES = [
    {
        "id": "valued_connected",
        "name": "Feeling valued and connected",
        "description": "Peer workers describe their lived experience as an asset and take pride in connecting "
        "with the people they support; belonging to the wider team grows unevenly.",
        "codes": ["lived_experience", "connection", "belonging"],
        "constructs": ["wemwbs.total", "mjs.personal", "team.cohesion"],
    },
    {
        "id": "adjusting_demands",
        "name": "Adjusting to the demands of the role",
        "description": "The first months bring emotional load and a heavy pace; over the year most find ways "
        "to pace themselves and protect their own wellbeing.",
        "codes": ["emotional_load", "workload", "self_care"],
        "constructs": ["cbi.work", "cbi.personal", "mjs.workload", "wemwbs.total"],
    },
    {
        "id": "supervision_peer_team",
        "name": "Supervision and the peer team",
        "description": "Good supervision and time with other peer workers make the demands manageable; gaps in "
        "supervision are felt quickly.",
        "codes": ["supervision", "peer_team"],
        "constructs": ["mjs.professional_support", "team.leadership"],
    },
    {
        "id": "role_clarity",
        "name": "Role clarity and team preparation",
        "description": "Where host teams were prepared the role is clear; elsewhere peer workers are pulled "
        "into other tasks and explain the role again and again.",
        "codes": ["role_ambiguity", "team_preparation"],
        "constructs": ["team.communication", "team.coordination", "team.conflict_management"],
    },
    {
        "id": "job_insecurity",
        "name": "Job insecurity",
        "description": "Fixed-term posts cast a shadow over the second half of the year and shape plans to stay "
        "or leave.",
        "codes": ["fixed_term", "future_plans"],
        "constructs": ["mjs.prospects", "mjs.pay"],
    },
]

PROPOSITIONS_HEAD = (
    "# Propositions for the joint display (synthetic example): each names the quantitative\n"
    "# constructs (instrument.score) and the qualitative themes (theme ids) that speak to it.\n"
)
PROPOSITIONS = [
    {
        "id": "PR1",
        "statement": "Wellbeing among peer workers is close to population levels and holds steady "
        "across the first year.",
        "constructs": ["wemwbs.total"],
        "themes": ["valued_connected"],
    },
    {
        "id": "PR2",
        "statement": "The early months of the role are demanding, and strain peaks around four months "
        "before easing.",
        "constructs": ["cbi.personal", "cbi.work", "mjs.workload"],
        "themes": ["adjusting_demands"],
    },
    {
        "id": "PR3",
        "statement": "Supervision and contact with other peer workers protect peer workers from the "
        "demands of the role.",
        "constructs": ["mjs.professional_support", "team.leadership"],
        "themes": ["supervision_peer_team"],
    },
    {
        "id": "PR4",
        "statement": "Team working is rated well, but how ready a host team was shapes how clear the "
        "role feels.",
        "constructs": ["team.communication", "team.coordination", "team.conflict_management"],
        "themes": ["role_clarity"],
    },
    {
        "id": "PR5",
        "statement": "Satisfaction with prospects falls by twelve months as fixed-term posts near their end.",
        "constructs": ["mjs.prospects", "mjs.pay"],
        "themes": ["job_insecurity"],
    },
]

# --- interviews -----------------------------------------------------------------------------------

QUESTIONS = {
    "lived_experience": (
        "How much of your own experience do you bring into the work?",
        "Looking back over the year, how has your own experience shaped the work?",
    ),
    "connection": (
        "What has it been like meeting the people you support so far?",
        "Tell me about the people you have been working with lately.",
    ),
    "belonging": (
        "How do you feel about your place in the team now?",
        "Do you feel part of the service at this point?",
    ),
    "emotional_load": (
        "Has anything in the work been hard to carry?",
        "How has the work been sitting with you emotionally?",
    ),
    "workload": ("How is the amount of work at the moment?", "What does a typical week look like now?"),
    "self_care": (
        "What do you do to look after yourself alongside the job?",
        "How are you keeping yourself well these days?",
    ),
    "supervision": ("What support have you had from supervision?", "How is supervision going?"),
    "peer_team": (
        "How much contact do you have with the other peer workers?",
        "What has the peer worker group meant to you?",
    ),
    "role_ambiguity": (
        "How clear is your role, to you and to others?",
        "Are you ever asked to do things outside the role?",
    ),
    "team_preparation": (
        "How ready was the team for a peer worker when you arrived?",
        "How has the team adjusted to having a peer worker?",
    ),
    "fixed_term": ("What do you know about your contract?", "Where are things with your contract now?"),
    "future_plans": ("Where would you like this job to lead?", "What comes next for you, do you think?"),
}
TOPICS = {
    "T1": (
        "lived_experience",
        "connection",
        "team_preparation",
        "role_ambiguity",
        "emotional_load",
        "supervision",
        "future_plans",
    ),
    "T2": (
        "workload",
        "emotional_load",
        "self_care",
        "supervision",
        "peer_team",
        "role_ambiguity",
        "belonging",
    ),
    "T3": (
        "fixed_term",
        "future_plans",
        "peer_team",
        "lived_experience",
        "team_preparation",
        "belonging",
        "self_care",
    ),
}
PROBES = (
    "Can you say a bit more about that?",
    "What helped, at the time?",
    "How did that leave you feeling?",
    "Has that changed over the months?",
)
ANSWERS = {
    "lived_experience": (
        "I tell people a little of my story when it helps them, not mine. It opens doors that a job title never would.",
        "When someone says nobody understands, I can honestly say I have sat where they are sitting.",
        "My own recovery is the main tool I have. The training taught me when to use it and when to keep it back.",
        "Staff have started asking what I think because I have been on the other side of the desk.",
        "Some days sharing my experience feels like a gift, other days it feels like I am handing out pieces of "
        "myself.",
        "I used to hide my history at work. Here it is the reason I was hired, and that still surprises me.",
    ),
    "connection": (
        "The first visits were awkward, but by the third one he was making me a cup of tea and telling me about "
        "his garden.",
        "People talk to me differently. They do not have to perform being well for me.",
        "Seeing someone go to a group on their own after weeks of going with them is the best part of the job.",
        "One woman said I was the first person who listened without writing anything down.",
        "It is a slower kind of relationship. We walk, we talk, and the plans come out of that.",
        "Some people do not want a peer worker and that is fine; the ones who do really grab hold of it.",
    ),
    "belonging": (
        "I get invited to the team meeting now, which I did not at first. It sounds small but it mattered.",
        "With the nurses I feel part of it. With some of the doctors I still feel like a visitor.",
        "I have my own desk and my name on the rota. That made it feel like a proper job.",
        "It depends on the day. On a good day I am one of the team, on a bad day I am the peer worker.",
        "People come and find me now when they think a service user would like a peer worker. That is belonging to "
        "me.",
        "I feel more at home with the people we support than with the staff, if I am honest.",
    ),
    "emotional_load": (
        "Some stories stay with me on the bus home. I had not expected how much.",
        "There was a week when two people I work with went back into hospital and I felt it more than I showed.",
        "Hearing things that echo my own past can knock me. I notice it quicker now than I did.",
        "It is not the big crises, it is the slow ones, watching someone drift and not being able to stop it.",
        "I worry about people between visits. Learning to leave that at the door is still a work in progress.",
        "The hardest part is when someone I support is treated badly by the system I now work for.",
    ),
    "workload": (
        "The caseload crept up. I started with a handful and now I am juggling more than I can see properly.",
        "The paperwork takes longer than the visits some weeks.",
        "Travelling between people eats the day. I spend more time on buses than with anyone.",
        "It is busy but it is the good kind of busy most of the time.",
        "Everyone wants a peer worker now, which is lovely, but there is only one of me on this team.",
        "I work the hours I am paid for, mostly. The odd evening goes on catching up on notes.",
    ),
    "self_care": (
        "I keep Fridays light on purpose. It took me months to feel allowed to do that.",
        "Walking home instead of getting the bus gives me time to let the day go.",
        "I have a plan for my own wellbeing, the same kind we write with the people we support.",
        "I say no more often than I did. That is the biggest change this year.",
        "When I notice my sleep going I tell my supervisor early rather than late.",
        "Keeping up my own groups outside work keeps me grounded.",
    ),
    "supervision": (
        "My supervisor gets peer work. We talk about me as well as the caseload, which helps a lot.",
        "Supervision was cancelled three times in a row at one point and I really felt the gap.",
        "I have case supervision with the team and separate peer supervision. The second one is where I can be "
        "honest.",
        "It helps to have someone who asks how the work is affecting me, not only what I did.",
        "At first supervision felt like being checked on. Now it feels like being looked after.",
        "I would like more of it. An hour a month is not much when the work is this personal.",
    ),
    "peer_team": (
        "The peer workers meet every fortnight and it is the one meeting I never miss.",
        "We have a group chat and we pick each other up when someone has a bad day.",
        "Other peer workers are the only people who really know what this job is like.",
        "When one of our group left the post it shook all of us for a while.",
        "We swap ideas about how to explain the role. Someone always has a better way of putting it.",
        "Being one of a group of peer workers, rather than the only one, makes it feel like a profession.",
    ),
    "role_ambiguity": (
        "I was asked to cover reception once. I did it, but it is not what I am here for.",
        "Some staff think I am a support worker, some think I am a volunteer. I explain it a lot.",
        "The job description is clear on paper. On the ward it gets fuzzy.",
        "I am still working out where peer support ends and friendship would begin.",
        "Being asked to do the medication reminders made me uneasy. That is not a peer role.",
        "It is clearer now. The team knows what to refer to me and what not to.",
    ),
    "team_preparation": (
        "Nobody on the team had been told I was starting. I spent the first week introducing myself.",
        "My manager had done a session with the team before I came and it showed.",
        "A couple of staff were openly doubtful at first. They come to me for advice now.",
        "The team was kind but unsure. Nobody knew what to ask me to do.",
        "It would have helped if the team had had the same training I did, even a short version.",
        "The induction was for staff in general, nothing about working with a peer worker.",
    ),
    "fixed_term": (
        "My contract ends in the spring and nobody can tell me yet whether it will be renewed.",
        "The post was made permanent last month and I cried with relief.",
        "I love the work, but I cannot plan my life around a contract that keeps being extended by three months.",
        "It is hard to commit to people you support when you do not know if you will be here next year.",
        "The pay is fine for the hours. It is the not knowing that wears me down.",
        "A few of the other peer workers have already started looking for other jobs because of the contracts.",
    ),
    "future_plans": (
        "I would like to train as a peer supervisor one day.",
        "I want to stay in peer work. It is the first job that has felt like mine.",
        "If this post ends I might go into training to be a nurse; the job has shown me I can do it.",
        "For now I just want to keep doing this well. Plans can wait.",
        "I would like to help train the next group of peer workers.",
        "Honestly I do not know. It depends on whether there is still a post here next year.",
    ),
}
OPENINGS = {
    "T1": (
        "Thank you for meeting me now that the training has finished. As we said, you can stop at any "
        "point. How are you feeling about starting the role?",
        (
            "Nervous and excited in about equal parts.",
            "Ready, I think. The training was a lot, but good.",
            "Keen to get going. I have been waiting for this for a long time.",
            "A bit overwhelmed, but in a good way.",
        ),
    ),
    "T2": (
        "Thanks for making time again. It is about four months since we last talked. How has it been?",
        (
            "Busier than I expected, but I am still glad I took it.",
            "Up and down. Mostly up.",
            "It has gone quickly. I feel like I have learnt a lot.",
            "Tiring, to be honest, but I am getting there.",
        ),
    ),
    "T3": (
        "Thank you for this last interview. It is about a year since you started. How would you sum it up?",
        (
            "A year of learning who I am at work.",
            "Harder than I thought and better than I thought.",
            "Settled, mostly. It feels like my job now.",
            "Mixed. The work is good; the uncertainty is not.",
        ),
    ),
}
CLOSING_QUESTION = "Is there anything we have not talked about that you would like to add?"
CLOSINGS = (
    "No, I think we covered it.",
    "Only that I am glad someone is asking these questions.",
    "Just that the peer workers need to be kept in mind when decisions are made.",
    "Not really. Thanks for listening.",
)
THANKS = "Thank you. I will stop the recording there."


def compose(turns: list[tuple[str, str, str | None]]) -> tuple[str, list[tuple[int, int, str]]]:
    """A transcript body from (speaker, words, code) turns, and the code-point span of each coded turn.

    Spans cover the words after the ``**SPEAKER:**`` label, computed from the text as it is built.
    """
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    position = 0
    for speaker, words, code in turns:
        label = f"**{speaker}:** "
        if code:
            start = position + len(label)
            spans.append((start, start + len(words), code))
        paragraph = label + words
        parts.append(paragraph)
        position += len(paragraph) + 2  # the blank line between turns
    return "\n\n".join(parts) + "\n", spans


def _answer(code: str, rng: random.Random, used: set[tuple[str, int]]) -> str:
    """An answer for ``code`` this participant has not given before."""
    pool = ANSWERS[code]
    fresh = [i for i in range(len(pool)) if (code, i) not in used]
    choice = rng.choice(fresh or list(range(len(pool))))
    used.add((code, choice))
    return pool[choice]


def interview(
    pid: str, wave: str, rng: random.Random, used: set[tuple[str, int]]
) -> list[tuple[str, str, str | None]]:
    """The turns of one interview: opening, five to seven topics (some probed), closing."""
    question, replies = OPENINGS[wave]
    turns: list[tuple[str, str, str | None]] = [("INT", question, None), (pid, rng.choice(replies), None)]
    # Five to seven of the wave's topics, in guide order, two to four of them probed: 19-27 turns.
    skipped = set(rng.sample(TOPICS[wave][1:], rng.randint(0, 2)))
    topics = [t for t in TOPICS[wave] if t not in skipped]
    probed = set(rng.sample(topics, rng.randint(2, 4)))
    for topic in topics:
        turns.append(("INT", QUESTIONS[topic][0 if wave == "T1" else 1], None))
        turns.append((pid, _answer(topic, rng, used), topic))
        if topic in probed:
            turns.append(("INT", rng.choice(PROBES[:3] if wave == "T1" else PROBES), None))
            turns.append((pid, _answer(topic, rng, used), topic))
    turns += [("INT", CLOSING_QUESTION, None), (pid, rng.choice(CLOSINGS), None), ("INT", THANKS, None)]
    return turns


# --- focus groups (non-peer professionals) ----------------------------------------------------------
# Each line: speaker (FAC, or the index of a member), words, code.

FOCUS_GROUPS = (
    (
        (
            "FAC",
            "Welcome, and thank you for coming. We are interested in what it has been like to work alongside "
            "peer workers. Who would like to start?",
            None,
        ),
        (0, "I will. I was sceptical before ours started, I will admit that.", None),
        ("FAC", "What made you sceptical?", None),
        (
            0,
            "I did not know what they would do that we were not doing already. Nobody explained it to us before "
            "the first one arrived.",
            "team_preparation",
        ),
        (1, "Same here. We got an email the week before, and that was the preparation.", "team_preparation"),
        (
            2,
            "On our team the manager ran a session first, so we knew what to expect. It made a big difference.",
            "team_preparation",
        ),
        ("FAC", "What do you see the peer workers doing now?", None),
        (
            3,
            "They reach people we do not reach. I have seen patients say things to the peer worker that they "
            "never say in clinic.",
            "connection",
        ),
        (4, "They can say I have been there, and it lands in a way nothing I say can.", "lived_experience"),
        (
            1,
            "But I am never quite sure where their role ends. Are they there to help with discharge tasks or "
            "not?",
            "role_ambiguity",
        ),
        (
            0,
            "We had a stretch where ours was covering admin because we were short. That was our failing, not "
            "theirs.",
            "role_ambiguity",
        ),
        ("FAC", "How are the peer workers supported, as far as you can see?", None),
        (
            2,
            "They have their own supervision, which I think is right, but we are not always told what is "
            "discussed there.",
            "supervision",
        ),
        (
            3,
            "I worry about them carrying a lot. Some of what they hear would be hard for anyone.",
            "supervision",
        ),
        ("FAC", "Is there anything you would want to change?", None),
        (
            4,
            "Make the posts permanent. Ours is on a fixed-term contract and you can see the worry.",
            "fixed_term",
        ),
        (1, "And train the teams as well as the peer workers.", "team_preparation"),
        ("FAC", "Thank you all. That is a good place to finish.", None),
    ),
    (
        (
            "FAC",
            "Thanks for joining. Let us start with a simple question: what has changed since peer workers "
            "joined your teams?",
            None,
        ),
        (
            0,
            "Referrals are different. We now think about who might want a peer worker, which we never did "
            "before.",
            "belonging",
        ),
        (
            1,
            "Conversations in team meetings have changed. Someone asks how a plan would feel to the person, "
            "not only whether it is safe.",
            "lived_experience",
        ),
        (
            2,
            "For me it has been mixed. Our peer worker is great, but some colleagues still treat the role as "
            "an extra pair of hands.",
            "role_ambiguity",
        ),
        ("FAC", "Can you say more about that?", None),
        (
            2,
            "If we are short, the peer worker gets asked to sit with someone on observation. That is not "
            "what the role is for.",
            "role_ambiguity",
        ),
        (
            4,
            "I think we were not ready. We had no time to think about how the role fits with ours.",
            "team_preparation",
        ),
        ("FAC", "What about the workload the peer workers carry?", None),
        (0, "It has grown. Everyone wants them, and there is no limit written anywhere.", "workload"),
        (
            3,
            "I have noticed ours looking tired lately. The peer group they have seems to keep them going.",
            "peer_team",
        ),
        ("FAC", "And the future of the posts?", None),
        (
            1,
            "Nobody knows. The funding is for the length of the project, and people are already looking "
            "elsewhere.",
            "fixed_term",
        ),
        (0, "It would be a loss. We have only just learnt how to work with them.", "fixed_term"),
        ("FAC", "Thank you. Anything else before we close?", None),
        (3, "Only that the good practice should be written down before the posts end.", None),
        ("FAC", "Thank you, that is helpful. I will stop the recording now.", None),
    ),
)


def focus_group(members: tuple[str, ...], script: tuple) -> list[tuple[str, str, str | None]]:
    """The turns of a focus group, with member indices replaced by participant ids."""
    return [
        (speaker if speaker == "FAC" else members[speaker], words, code) for speaker, words, code in script
    ]


# --- event notes --------------------------------------------------------------------------------------

EVENT = (
    (
        "NOTE",
        "Notes from the peer worker community afternoon, written up by the researcher the same day. About "
        "twenty people came: peer workers from several teams, a few managers and two service user "
        "representatives. Only consenting participants are named by study id.",
        None,
    ),
    (
        "NOTE",
        "The afternoon opened with small groups sharing what had surprised them about the role. The word "
        "that came up most was trust: being trusted by the people they support, and learning to trust the "
        "team.",
        "connection",
    ),
    (0, "It is the first job where my past counts for something instead of against me.", "lived_experience"),
    (
        "NOTE",
        "Several peer workers described the middle months as the hardest, with caseloads growing faster "
        "than they had expected and little time to reflect.",
        "workload",
    ),
    (1, "You need to build in time to breathe or you end up running on empty.", "self_care"),
    (
        "NOTE",
        "A long discussion followed about supervision. People who had regular peer supervision spoke of it "
        "as the thing that kept them in the job; two people said theirs had lapsed for weeks.",
        "supervision",
    ),
    (2, "The fortnightly peer meeting is my lifeline. I would not be here without it.", "peer_team"),
    (
        "NOTE",
        "In the final session, talk turned to contracts. Most posts are fixed-term and many people were "
        "unsure what happens when the funding ends. The mood in the room dropped noticeably.",
        "fixed_term",
    ),
    (
        3,
        "I want to plan my next year and I cannot, because nobody can tell me if the job exists.",
        "future_plans",
    ),
    (
        "NOTE",
        "The group agreed to send a short summary of their suggestions to the service leads: train host "
        "teams before a peer worker starts, protect supervision time, and decide on contracts early.",
        "team_preparation",
    ),
)


def event_notes(attendees: list[str]) -> list[tuple[str, str, str | None]]:
    """The paragraphs of the event notes, with attributed remarks given to consenting attendees."""
    return [
        (speaker if isinstance(speaker, str) else attendees[speaker], words, code)
        for speaker, words, code in EVENT
    ]
