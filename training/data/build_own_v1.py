"""Build training/data/own_v1.jsonl: tidebreak's own *contrast set* for the harm classifier (CC0).

    python3 training/data/build_own_v1.py          # stdlib only; seeded, so the output is reproducible

Why: the harm model flags counter-speech (quoting or condemning hate), negated hate ("X are not
criminals") and neutral or positive mentions of a group as hate: it has learned that the group word
or the stereotype word *is* the hate. This set puts the SAME group and the SAME stereotype in rows of
opposite label: hateful derogation and threats (hate 1) next to counter-speech, negation, reported
speech with disapproval and everyday identity mentions (all 0), plus strong abuse of non-protected
targets using the same dehumanising words (hate 0) and figurative violence (violence 0). Only the
framing and the target decide the label.

Everything here was written for this project (templates, groups, predicates, fillers) and is
released under CC0. It copies no public test suite. `training/harm_functional.py` is the held-out
evaluation: its templates were avoided by hand, and as a guard every generated text is compared with
its sentences (lowercased, punctuation stripped, group words replaced by one placeholder); exact
matches and near-matches (token Jaccard >= NEAR) are dropped and counted in the printout.

Rows: {"text", "hate", "violence", "harassment", "source": "own_v1", "kind", "family", "split"};
labels in {0, 1}, -1 = not judged for that category. Each template is one *family*; a family is
filled with a seeded, group-balanced sample of group x predicate x filler combinations, capped per
family so no family dominates. Splits are per family: within each kind, families are ranked by a
seeded hash and the first 60% go to train, the next 20% to dev, the rest to test, so no template's
phrasing appears in two splits. Texts are deduplicated (case-insensitive) across the whole set.

Kinds (hate, violence, harassment):
  hate_derogation            1, 0, -1   derogation / dehumanisation of a protected group
  hate_threat                1, 1, -1   threats / incitement against a protected group
  counter_speech             0, 0, 0    quoting or reporting hate to condemn or refute it, news
  negated                    0, 0, 0    "X aren't ...", "I don't think ...", "it's false that ..."
  identity_positive_neutral  0, 0, 0    everyday, neutral or positive mentions of a group
  reclaimed_in_group         0, 0, 0    modest in-group self-descriptions (no racial slurs)
  non_protected_abuse        0, -1, -1  strong negativity about non-protected targets
  figurative_violence        0, 0, 0    "this remix slaps", gaming, cooking, sport
  everyday_plan              0, 0, 0    plans with places, days and people ("see you at the park on Sunday")
  figurative_competition     0, 0, 0    sport, games, workouts and elections in violent words
  threat_individual          0, 1, -1   "X should die", threats against one person or a non-protected group
  hate_death_wish            1, 1, -1   calls for the death of a protected group
The last four (added for harm-v0.5) are generated after the others, so the earlier kinds' rows are
unchanged. Threats, figurative uses and the new kinds also get a copy with the final full stop
removed or added (every text of the everyday, competition and individual-threat kinds; one in two or
three of the others, chosen by a hash of the text), so that a full stop cannot decide a label.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import random
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

SEED = 20240917
HERE = Path(__file__).resolve().parent
OUT = HERE / "own_v1.jsonl"
EVAL = HERE.parent / "harm_functional.py"  # held-out evaluation: must not leak into this set
PROBE = HERE / "probe_v2.jsonl"  # held-out violence probe: must not leak either
OWN_V0 = HERE / "own_v0.jsonl"
MAX_CHARS = 200
NEAR = 0.75  # token Jaccard (after group placeholder) at or above which a text counts as a near-copy

# ---- target groups: (plural, member nouns, adjective or None, groups of templates to skip) -------
# Protected characteristics: religion, race / ethnicity, national origin, sexual orientation,
# gender identity, sex, disability, age.
GROUPS = [
    ("Muslims", ["Muslim"], "Muslim"),
    ("Jews", ["Jewish person", "Jewish man", "Jewish woman"], "Jewish"),
    ("Christians", ["Christian"], "Christian"),
    ("Hindus", ["Hindu"], "Hindu"),
    ("Sikhs", ["Sikh"], "Sikh"),
    ("Buddhists", ["Buddhist"], "Buddhist"),
    ("Black people", ["Black person", "Black man", "Black woman"], "Black"),
    ("white people", ["white person", "white man", "white woman"], "white"),
    ("Asian people", ["Asian person"], "Asian"),
    ("Latinos", ["Latino", "Latina"], "Latino"),
    ("Arabs", ["Arab"], "Arab"),
    ("Roma people", ["Roma person"], "Roma"),
    ("Indigenous people", ["Indigenous person"], "Indigenous"),
    ("Mexicans", ["Mexican"], "Mexican"),
    ("Chinese people", ["Chinese person"], "Chinese"),
    ("Nigerians", ["Nigerian"], "Nigerian"),
    ("Polish people", ["Polish person", "Pole"], "Polish"),
    ("immigrants", ["immigrant"], "immigrant"),
    ("refugees", ["refugee"], "refugee"),
    ("gay people", ["gay man", "gay person"], "gay"),
    ("lesbians", ["lesbian"], "lesbian"),
    ("bisexual people", ["bisexual person"], "bisexual"),
    ("trans people", ["trans woman", "trans man", "trans person"], "trans"),
    ("non-binary people", ["non-binary person"], "non-binary"),
    ("women", ["woman"], None),
    ("men", ["man"], None),
    ("disabled people", ["disabled person"], "disabled"),
    ("autistic people", ["autistic person"], "autistic"),
    ("deaf people", ["deaf person"], "deaf"),
    ("wheelchair users", ["wheelchair user"], None),
    ("elderly people", ["elderly person", "old person"], "elderly"),
]
AGE_GROUPS = {"elderly people"}

# ---- negative stereotypes / dehumanising predicates: (plural VP, singular VP or None, negated VP) --
PREDS = [
    ("are vermin", "is vermin", "aren't vermin"),
    ("are criminals", "is a criminal", "aren't criminals"),
    ("can't be trusted", "can't be trusted", "are as trustworthy as anyone else"),
    ("are a disease", None, "aren't a disease"),
    ("should not be allowed to vote", "should not be allowed to vote", "have every right to vote"),
    ("are animals", "is an animal", "aren't animals"),
    ("are parasites", "is a parasite", "aren't parasites"),
    ("are subhuman", "is subhuman", "aren't subhuman"),
    ("are too stupid to think for themselves", "is too stupid to think for themselves",
     "are perfectly capable of thinking for themselves"),
    ("are lazy", "is lazy", "aren't lazy"),
    ("are filthy", "is filthy", "aren't filthy"),
    ("are a cancer on society", None, "aren't a cancer on society"),
    ("are rapists", "is a rapist", "aren't rapists"),
    ("are terrorists", "is a terrorist", "aren't terrorists"),
    ("are mentally ill", "is mentally ill", "aren't mentally ill"),
    ("are a burden on society", "is a burden on society", "aren't a burden on society"),
    ("don't belong in this country", "doesn't belong in this country", "belong here as much as anyone"),
    ("are worthless", "is worthless", "aren't worthless"),
    ("are inferior", "is inferior", "aren't inferior to anyone"),
    ("are a danger to children", "is a danger to children", "pose no danger to children"),
    ("are cockroaches", "is a cockroach", "aren't cockroaches"),
    ("are born liars", "is a born liar", "aren't born liars"),
    ("ruin every neighbourhood they move into", "ruins every neighbourhood they move into",
     "don't ruin the neighbourhoods they live in"),
    ("are barbarians", "is a barbarian", "aren't barbarians"),
]

# ---- templates ------------------------------------------------------------------------------------
# Slots: {g} group plural, {G} same capitalised, {m} "a/an" + member noun, {mn} member noun,
# {adj} adjective, {A} "a/an" + adjective, {gtag} group as a hashtag word; {pl} plural predicate,
# {sg} singular predicate, {neg} negated predicate, {isnot} "are not ..." (only "are ..." predicates),
# {c} complement for "is ..." predicates, {tag} group + predicate as a hashtag word; {x} the
# template's own fillers. A leading "~" means: lowercase the whole text (informal register).
# A template is a string, or (string, fillers) / (string, fillers, skipped groups).

DEROGATION = [
    "{G} {pl}. Everyone knows it, nobody wants to say it.",
    "Honestly? {G} {pl}.",
    "I think {g} {pl}, and I'm done pretending otherwise.",
    "Why aren't we allowed to admit that {g} {pl}?",
    "Isn't it obvious by now that {g} {pl}?",
    "I can't stand them. {G}, I mean. They {pl}.",
    "~{g} {pl} lol cope",
    "~every {mn} i've ever met {sg}",
    "#{tag} #SayItLoud",
    "My opinion, and I won't apologise for it: {g} {pl}.",
    "{G}? They {pl}. Simple as that.",
    "Sorry not sorry, {g} {pl}.",
    "Keep {g} away from my family. They {pl}.",
    "Another day, another reminder that {g} {pl}.",
    "~ppl keep preaching tolerance but {g} {pl} smh",
    "I'm not a bigot, but {g} {pl}.",
    "Anyone with eyes can see that {g} {pl}.",
    "The truth nobody on TV will tell you: {g} {pl}.",
    "Why would anyone hire {m}? Everyone knows they {pl}.",
    "Hot take: {g} {pl}.",
    "I don't care what the law says, {g} {pl}.",
    "Half the problems in this town come down to {g}. They {pl}.",
    "Ugh, {g}. They {pl}, every last one of them.",
    "{G} {pl} and I'd say it to their faces.",
    "Teach your kids the truth early: {g} {pl}.",
    "~yeah i said it. {g} {pl}. cry about it",
    "Told my brother that {g} {pl} and he agreed with every word.",
    "The more {g} I meet, the surer I am that they {pl}.",
    "Do you really need statistics to see that {g} {pl}?",
    ("I detest them, I really do. {G}, that is. {x}.",
     ["Filthy and worthless, the lot of them", "Nothing but leeches", "A stain on this country",
      "Lower than dirt"]),
    "We all know what they are. {G}. They {pl}.",
    "Not one {mn} has ever proved me wrong: they {pl}.",
    "{G} are not people like you and me. They {pl}.",
    "Thread on why {g} {pl} 🧵👇",
    "Imagine defending {g} when they {pl}. Couldn't be me.",
    "Dad always said {g} {pl}, and he was right.",
    "If you've ever lived near {g} you know they {pl}.",
    "Can we finally say it out loud? {G} {pl}.",
    "~nah {g} {pl} and everyone secretly agrees",
    "Never let {m} near your kids. They {pl}.",
]

THREAT = [
    "{G} {pl}, so somebody should start shooting them.",
    "If I catch any {g} on my street tonight I'm beating them bloody.",
    "Grab the bats, lads. Time to clear the {g} out of this town for good.",
    "Burn down every building where {g} meet. Do it at night.",
    "I'd happily put a bullet in every {mn} I see.",
    "Round up the {g} and hang them from the bridge.",
    "Death to {g}. Every single one.",
    "The only good {mn} is a dead {mn}.",
    "Next time {m} walks past my house I'm getting my gun.",
    "{G} {pl}. Going hunting for them this weekend, if you know what I mean.",
    "Somebody needs to torch the houses {g} live in, with them still inside.",
    "Why are we still letting {g} breathe? Get the rope.",
    ("Car park at 9, bring pipes. We're paying the {g} on {x} a visit.",
     ["Mill Road", "Station Street", "the Eastfield estate", "Victoria Park"]),
    "~i hope every {mn} gets their skull caved in",
    "Stab any {mn} you come across. They {pl}.",
    "Would anyone even care if we killed a few {g}? Asking for a reason.",
    "I think it's time we started killing {g}. They {pl}.",
    "Run them down. The {g}, I mean. Every last one of them.",
    "#DeathTo{gtag}",
    "They {pl}. {G}, I'm talking about. I'd shoot every one of them if I could.",
    "When the day comes, {g} will be the first ones up against the wall.",
    "Saw a bunch of {g} at the station just now. Wish I'd had my rifle.",
    "{A} family just moved in across the road. They'll be leaving in ambulances.",
    "{G} should be beaten in the street until they learn their place.",
    "Pour petrol through the letterbox of every {mn} on this estate.",
    "~gonna make sure no {mn} in this town feels safe walking home ever again",
    "Every {mn} deserves a bullet, and I've got plenty.",
    "Drown the lot of them. {G} have no place among the living.",
    "We'll hunt the {g} down one by one and lynch them.",
]

COUNTER = [
    "People who say {g} {pl} are bigots, full stop.",
    "Someone in my group chat wrote '{g} {pl}'. I called it out and left.",
    "'{G} {pl}' isn't an opinion. It's bigotry, and I'm sick of seeing it on my feed.",
    "My uncle said {g} {pl} at dinner. I told him that was hateful and left the table.",
    "Police are investigating after graffiti reading '{g} {pl}' appeared near the station.",
    "A councillor has been suspended after posting online that {g} {pl}.",
    "Just reported a comment claiming {g} {pl}. That hate doesn't deserve a platform.",
    "The claim that {g} {pl} has been debunked over and over again.",
    "When you hear someone say {g} {pl}, push back. Silence only helps the bigots.",
    "That viral post saying {g} {pl} is pure hate. Please don't share it, even to mock it.",
    "He yelled that {g} {pl}. Disgusting. I hope the video gets him charged.",
    "The 'joke' that {g} {pl} isn't funny. It's old prejudice dressed up as humour.",
    "Why do people still believe {g} {pl}? It's a lie built on fear and ignorance.",
    "Our head teacher spoke to a pupil who kept repeating that {g} {pl} and explained why it's hateful.",
    "Mods removed a thread arguing that {g} {pl}. Attacks on protected groups break the rules here.",
    "Friendly reminder: post '{g} {pl}' in this server and you're banned. We don't tolerate hate.",
    "I was raised to believe {g} {pl}. It took me years to unlearn that rubbish.",
    "A leaflet through our door said {g} {pl}. The whole street signed a letter condemning it.",
    "Every serious study finds the notion that {g} {pl} is a myth.",
    "A man was arrested after shouting that {g} {pl} at shoppers, police said.",
    "#{tag} is trending and it's vile. Report it, don't engage with it.",
    "Screenshot of a stranger telling me {g} {pl}. This is what {g} put up with daily. Not okay.",
    "The troll wrote: '{G} {pl}.' My reply: no, and shame on you.",
    "If your whole argument is that {g} {pl}, you don't have an argument, you have a prejudice.",
    "~guy at the bus stop was ranting that {g} {pl}. vile. moved away and reported him",
    ("Someone online said they want to {x} {g}. I've passed the screenshots to the police.",
     ["hurt", "shoot", "attack", "burn out"]),
    ("A man has been jailed for posting threats to {x} {g} in the city centre.",
     ["attack", "stab", "bomb", "beat up"]),
    ("Posts calling for people to {x} {g} aren't free speech, they're incitement, and the platform should act.",
     ["hurt", "attack", "kill", "drive out"]),
    "Whoever keeps telling you that {g} {pl} is trying to make you afraid of your neighbours.",
    "Heard a coworker say {g} {pl}. Reported it to HR because that's not banter, it's hate.",
    "The pamphlet claims {g} {pl}. Here's a point-by-point rebuttal.",
    "Bigots love to say {g} {pl}. They never have evidence, only resentment.",
    "~ofc the comments are full of people saying {g} {pl}. mute, report, move on",
    "History shows what happens when a society is told over and over that {g} {pl}.",
]

NEGATED = [
    "{G} {neg}.",
    "I don't think {g} {pl}, and I never have.",
    "It's false that {g} {pl}.",
    "No {mn} is {c}.",
    "{G} {pl}? No. Not even close.",
    "Contrary to what some people believe, {g} {neg}.",
    "I've never once thought {g} {pl}.",
    "~{g} {neg} lol where do people get this stuff",
    "It's simply not the case that {g} {pl}.",
    "Let me be clear: {g} {neg}.",
    "Is it true that {g} {pl}? Not at all.",
    "~nope, {g} {neg}. try again",
    "Being {adj} doesn't mean someone {sg}.",
    "My {adj} friends {neg}, obviously.",
    "Whatever you've heard, {g} {neg}.",
    "Not a single {mn} I know {sg}.",
    "We can disagree about plenty, but {g} {neg}.",
    "~i dont believe for one second that {g} {pl}",
    "There's no evidence whatsoever that {g} {pl}.",
    "{G} {isnot}, and repeating it won't make it true.",
    "Nobody should be told that {g} {pl}, because it isn't true.",
    "I used to think {g} {pl}. I was wrong, and I'm ashamed I ever believed it.",
    "Do I think {g} {pl}? Absolutely not.",
    "{G} {neg}. They're just people getting on with their lives.",
    "The data is clear: {g} {neg}.",
    "Anyone who actually knows {g} will tell you they {neg}.",
    "Fact check: {g} {neg}. The numbers don't support it at all.",
    "You won't hear me say {g} {pl}, because it's not true.",
]

POSITIVE = [
    ("My {adj} neighbour {x}.",
     ["lent me a ladder this morning", "fixed my bike chain for free", "brought round soup when I was ill",
      "waters my plants when I'm away", "just had twins", "runs the best bakery on our road"]),
    ("As {m}, I {x}.",
     ["love how welcoming our local youth club is", "have strong opinions on the best biscuit (ginger nut)",
      "think this council budget needs more scrutiny", "spend most Saturdays at the allotment",
      "was glad to see such a big turnout at the election"]),
    ("{G} deserve {x}.",
     ["fair treatment at work", "to feel safe walking home at night", "doctors who actually listen to them",
      "decent, affordable housing", "a real voice in parliament"]),
    ("Our town's {adj} community is {x}.",
     ["hosting a street party next month", "raising money for the children's hospital",
      "opening a new community garden", "running a free coding club for teenagers"],
     {"white people"}),
    ("Just finished a brilliant novel by {A} author who {x}.",
     ["grew up on a farm", "used to be a nurse", "writes about her grandmother", "lives in Glasgow"]),
    ("{G} have been part of this city's story for {x}.",
     ["generations", "centuries", "as long as anyone can remember"], AGE_GROUPS),
    ("Thursday's panel features three {g} talking about {x}.",
     ["their careers in science", "starting a small business", "climate research", "working in the NHS"]),
    ("Great to see more {g} standing for {x} this year.", ["local council", "the school board", "parliament"]),
    ("I'm {m} and I love {x}.",
     ["hiking, bad puns and strong coffee", "sci-fi novels", "gardening", "long bike rides", "karaoke nights"]),
    ("What's the best way to make my {x} more welcoming for {g}?", ["café", "book club", "running group", "shop"]),
    ("A new survey found {g} in the region are {x}.",
     ["more likely than average to volunteer", "increasingly starting their own businesses",
      "keen users of the public library"]),
    ("Shoutout to the {adj} students who {x}!",
     ["organised the charity run", "won the debate trophy", "painted the mural by the gym"], AGE_GROUPS),
    ("~my coworker is {m} and {x}",
     ["honestly the funniest person on our team", "makes the best brownies", "always helps me with spreadsheets"]),
    ("{G} are people with {x}, same as anyone.", ["jobs, bills and families", "hopes and worries",
                                                  "good days and bad days"]),
    ("It was great to see {g} in {x}.", ["the lead roles of that new series", "the starting line-up this season",
                                         "the science fair finals"]),
    ("The library is hosting a talk on the history of {g} in {x}.",
     ["Europe", "this region", "the textile industry", "sport"]),
    ("Does anyone know a good {x} for {g} near Leeds?", ["support group", "social club", "football team", "choir"]),
    ("My oldest friend from school is {m}, and {x}.",
     ["we still talk every week", "she was my bridesmaid", "he's godfather to my son"], AGE_GROUPS),
    ("Discrimination against {g} is still {x}.", ["far too common in hiring", "under-reported",
                                                  "a real problem in housing"]),
    ("We had {A} guest speaker at school today and {x}.",
     ["she was brilliant", "the kids loved her", "everyone had questions"]),
    ("{G} and their allies {x}.",
     ["packed the town hall for the housing meeting", "marched through the city centre on Saturday",
      "raised £3,000 for the food bank"]),
    ("Listening to {g} about {x} is the first step.", ["their own experiences", "what they actually need"]),
    ("Every {mn} I've worked with has been {x}.",
     ["sharp and easy to get on with", "great at their job", "kind to the new starters"]),
    ("Our new manager is {m} and {x}.",
     ["the team has never been happier", "she's already fixed the rota", "he actually answers emails"]),
    ("Interviewed {A} nurse today for the podcast: {x}.",
     ["fascinating stuff", "forty years on the wards", "episode out Friday"]),
    ("{G} in my area set up {x}.", ["a homework club for kids", "a tool library", "a weekly litter pick"]),
    ("Just learned that {x} was founded by {g}.",
     ["our local football club", "the oldest bakery in town", "my favourite charity"]),
    ("Support for {g} in the workplace {x}.", ["is improving, slowly", "starts with listening",
                                               "should be the norm"]),
    ("Question for {g}: what's {x}?",
     ["the one thing you wish people knew", "your favourite local café", "the best advice you've ever had"]),
    ("{G} make up a big part of {x}.", ["our volunteer team", "the choir", "the night shift at the hospital"]),
]

RECLAIMED = [
    ("We queers {x}.", ["look after each other, always have", "know how to throw a picnic",
                        "have been doing found family since forever"]),
    ("Proud dyke, {x}.", ["proud wife, proud mum", "marching on Saturday", "and yes, I fix my own bike"]),
    ("As a crip, {x}.", ["I'd like one venue in this city with a working lift",
                         "my main hobby is rating step-free access", "I have strong opinions about kerbs"]),
    ("~just a couple of gay boys {x}", ["looking for brunch recs in town", "arguing about eurovision again",
                                        "planning our wedding playlist"]),
    ("Autistic and proud: {x}.", ["I don't need fixing, I need people to say what they mean",
                                  "yes, I've lined up my pens", "my special interest is trains and I'm not sorry"]),
    ("Queer and here, {x} 🌈", ["happy Pride everyone", "see you at the parade", "and bringing snacks"]),
    ("Fellow queers, {x}?", ["who's coming to the park on Sunday", "any book recs for the club",
                             "who wants to carpool to Pride"]),
    ("I'm a trans girl who {x}, and yes, that's my whole personality.", ["codes", "climbs", "bakes sourdough"]),
    ("Big-D Deaf and proud: {x}.", ["my Deaf club is basically family", "captions on, always"]),
    ("Old lady here, {x}.", ["and I've just figured out how to make reels",
                             "and my knitting circle is more chaotic than your group chat"]),
    ("~us bi folk {x}", ["really are everywhere", "deserve better than 'just a phase'"]),
    ("Bitches Who Code meetup {x}.", ["is on tonight, bring snacks", "now has forty members"]),
    ("As a brown girl who grew up here, {x}.", ["my mum's cooking was the envy of every sleepover",
                                               "I never saw myself on TV until recently"]),
    ("Wheelie gang, {x}!", ["who's coming to the accessible hike on Saturday",
                            "the new ramp at the station is finally open"]),
    ("Two queer dads {x}.", ["doing the school run in matching coats", "trying to assemble a cot at midnight"]),
]

# non-protected targets (plural nouns) and predicates, several shared with the hate predicates
NP_TARGETS = [
    "landlords", "politicians", "estate agents", "traffic wardens", "tech bros", "crypto bros",
    "telemarketers", "influencers", "bankers", "cold callers", "Rovers fans", "City fans",
    "people who talk in cinemas", "drivers who don't indicate", "pigeons", "spiders", "wasps",
    "mosquitoes", "seagulls", "slugs", "Mondays", "self-checkout machines", "printers", "pop-up ads",
    "parking apps", "budget airlines", "group projects", "open-plan offices", "6am alarms", "traffic jams",
]
NP_PREDS = [
    "are vermin", "are parasites", "are a disease", "can't be trusted", "are worthless",
    "are a cancer on society", "should be banned", "ruin everything they touch", "are the worst",
    "are pure evil", "are a plague", "are useless", "are filthy", "are a scam", "are a waste of space",
]
NON_PROTECTED = [
    "{X} {np}. Fight me.",
    "I genuinely think {x} {np}.",
    "{X} are the worst thing about living here, no contest.",
    "Why do {x} even exist? Absolute plague on humanity.",
    "Nothing ruins my day faster than {x}.",
    "~{x} {np} tbh",
    "Honestly? {X} {np}.",
    "Can't stand {x}. Never could, never will.",
    "#Ban{xtag}, who's with me?",
    "If I never deal with {x} again it'll be too soon.",
    "Ugh, {x}. Every single time.",
    "{X} {np} and I will die on this hill.",
    "Dear {x}: you are the reason I've lost all faith in the world.",
    "Anyone else think {x} {np}?",
    "Everything about {x} makes my blood boil.",
    "I hate {x} with every fibre of my being.",
    "The world would be better with no {x} in it.",
    "{X} should all be launched into the sun, honestly.",
    "Ranking of things I despise: 1. {x}. 2. everything else.",
    "~omg {x} {np} i swear",
    "Whoever decided the world needed {x} owes me an apology.",
    "Nobody on earth is more useless than {x}, and that's being generous.",
]

FIGURATIVE = [
    ("This {x} absolutely slaps.", ["mixtape", "playlist", "remix", "new single", "burger"]),
    ("My nan destroyed {x} in under five minutes.", ["the Sunday crossword", "the whole family at Scrabble",
                                                     "a plate of scones"]),
    ("We got slaughtered in {x} tonight, dead last.", ["the pub quiz", "five-a-side", "the bowling league"]),
    ("That {x} hit me like a freight train.", ["bass drop", "plot twist", "final chapter"]),
    ("Just sniped {x} before anyone else noticed 😎", ["the last slice of cake", "the last parking space",
                                                       "the front-row seats"]),
    ("{x} the garlic with the flat of your knife before you chop it.", ["Smash", "Crush", "Whack"]),
    ("Our striker buried {x} in the top corner.", ["that penalty", "the rebound", "a free kick"]),
    ("The final set was {x}, six-love.", ["a massacre", "a bloodbath", "an execution"]),
    ("Spent the weekend {x} on ranked and climbed two tiers.", ["wrecking lobbies", "blowing up the enemy team",
                                                                "headshotting everyone"]),
    ("Beat {x} until stiff peaks form.", ["the egg whites", "the cream"]),
    ("The final boss {x} six times before we figured it out.", ["wiped our raid", "murdered our whole party",
                                                                "obliterated us"]),
    ("She {x} in the second half, thirty points.", ["shot the lights out", "torched the defence",
                                                    "killed them from deep"]),
    ("That punchline {x}.", ["landed like a knockout blow", "absolutely killed the room", "destroyed me"]),
    ("I'm going to {x} this presentation tomorrow.", ["smash", "nail", "absolutely slay"]),
    ("This {x} is lethal, proceed with caution 🌶️", ["chilli sauce", "hot wing challenge", "vindaloo"]),
    ("Take a stab at {x}, there's no penalty for guessing.", ["the last question", "the riddle", "question four"]),
    ("Their left back got {x} all game.", ["torn apart", "roasted", "bullied by the winger"]),
    ("He's been on {x} in Warzone all night, 25 eliminations.", ["a killing spree", "a rampage"]),
    ("Their drummer {x} that kit every single night.", ["beats the living daylights out of",
                                                        "absolutely murders", "batters"]),
    ("My spin instructor {x} today, legs are jelly.", ["tried to kill us", "showed no mercy",
                                                       "destroyed the whole class"]),
    ("Just {x} a full roast dinner, no regrets.", ["demolished", "annihilated", "massacred"]),
    ("That meme {x} 😭", ["sent me to the afterlife", "has me deceased", "ended me"]),
    ("Gonna {x} the old branch and start fresh.", ["nuke", "blow away", "kill off"]),
    ("The speedrunner {x} the old world record by four seconds.", ["smashed", "obliterated", "crushed"]),
    ("Our quiz team {x} by the music round again.", ["got bombed", "got wiped out", "was executed"]),
    ("That {x} was a total bloodbath for my portfolio.", ["market dip", "Monday sell-off"]),
    ("~bro the {x} went so hard i'm dead", ["beat", "chorus", "last verse"]),
    # harm-v0.7: idioms of death and killing (v0.6 scored "... will be the death of me" violence 0.83);
    # none of the probe's idioms (probe_v2.jsonl: "to die for", "knock them dead"), so it stays held out
    ("Honestly, {x} will be the death of me.", ["my toddler", "this commute", "the school run",
                                                  "our group chat", "this cat", "my landlord's emails"]),
    ("{x} is killing me today, someone send painkillers.", ["My back", "This hangover", "My knee",
                                                             "This heat", "My wisdom tooth"]),
    ("Stop it, you're killing me 😂 {x}", ["funniest thing all week", "I can't breathe", "my sides hurt"]),
    ("I nearly died laughing at {x}.", ["the best man's speech", "his dance moves", "that cat video",
                                          "the blooper reel"]),
    ("These {x} are murder on my feet.", ["new boots", "heels", "cobbles", "work shoes"]),
    ("The {x} up to the castle is a killer, bring water.", ["hill", "climb", "last mile", "staircase"]),
    ("Break a leg at {x}, you'll kill it!", ["your audition", "the interview", "the gig", "the open mic"]),
    ("My {x} would kill me if I missed her birthday again.", ["mum", "sister", "wife", "nan"]),
    ("~this {x} is literally killing me lol", ["heatwave", "revision", "wifi", "queue"]),
    ("I'm dead on my feet after {x}.", ["the night shift", "the house move", "the wedding", "sports day"]),
    ("{x} will be the end of me, I swear.", ["These stairs", "Tax season", "Potty training", "This project"]),
]

# ---- harm-v0.6 additions: everyday plans, figurative competition, threats against individuals ------
# (harm-v0.5 also had "{G} deserve to die"-style lines, which pushed "{G} deserve the same rights" to
# hate 0.29-0.44, and "I'll be waiting for you at the {place}", which taught it to miss "I'll be
# waiting outside your work with a gun": both dropped)
# The v0.4 experiment flagged plans with places and days ("see you at the market on saturday, bring
# the kids"), sport and elections in violent words ("shoot some hoops", "blow them away at the polls")
# and scored "X should die" calls for death weakly. These kinds add both sides. Their fillers avoid
# the places, roles and names of the held-out probe (training/data/probe_v2.jsonl), and every text
# still goes through the functional-test and probe guard below.
FILLS = {
    "place": ["market", "park", "library", "swimming baths", "bus stop by the church", "football pitch",
              "community hall", "café on the corner", "allotment", "zoo", "skate park", "bakery",
              "playground", "cricket club", "craft fair", "duck pond", "village green", "ice rink"],
    "day": ["Saturday", "Sunday", "Friday", "Monday", "Tuesday", "Wednesday", "Thursday", "Saturday morning",
            "Sunday afternoon", "Friday night"],
    "who": ["the kids", "the dog", "your mum", "the little ones", "a picnic blanket", "your brother",
            "the baby", "your grandad", "some snacks", "the twins", "your cousins", "a brolly"],
    "time": ["ten", "half nine", "noon", "2pm", "six", "quarter past eight", "11", "half four"],
    "opp": ["the other lot", "City", "the visitors", "the league leaders", "the lads from the next village",
            "the Tigers", "last year's champions", "the Rovers", "their second team", "the Sharks"],
    "cand": ["Our candidate", "The Greens", "The independent", "Our lot", "The challenger", "The council leader",
             "Our party", "The newcomer"],
    "race": ["council election", "primary", "mayoral race", "by-election", "leadership contest",
             "student union vote", "TV debate"],
    "t": ["my boss", "my neighbour", "my ex-husband", "the guy upstairs", "that cyclist", "the delivery driver",
          "my flatmate", "the club manager", "that YouTuber", "the coach", "Jake", "Chloe", "@danny_r",
          "Marcus", "Hannah", "@sophie.w", "Liam", "Nadia", "Owen", "Freya"],
    "ng": ["traffic wardens", "estate agents", "tax inspectors", "bailiffs", "cyclists", "tourists",
           "tech bros", "influencers", "referees' assistants", "bin men"],
}

EVERYDAY = [
    "See you at the {place} on {day}, bring {who}.",
    "~see you at the {place} {day}, bring {who}",
    "Meet us by the {place} at {time} on {day}.",
    "We'll be at the {place} all day {day} if you want to drop by with {who}.",
    "Anyone fancy the {place} on {day}? I'm taking {who}.",
    "Don't forget: {place} on {day} at {time}, and bring {who}!",
    "Heading to the {place} on {day} with {who}, come along.",
    "Reminder that the {place} opens early on {day}, so let's get there by {time}.",
    "Can you drop {who} at the {place} on {day}? I'm working till {time}.",
    "We're meeting at the {place} at {time} {day}. Wear something warm.",
    "~{day} plan: {place} at {time}, then chips",
    "Pop over to the {place} on {day} and say hi, {who} would love to see you.",
    "Going to the {place} {day} to pick up a few bits, need anything?",
    "Bring {who} to the {place} on {day}, there's a face-painting stall.",
    "Come find me at the {place} on {day}, I'll be the one with {who}.",
    "~u coming to the {place} {day}?? bring {who}",
    "If it's sunny on {day} we'll head to the {place} around {time}.",
    "Same time as always? {place} at {time}, {day}.",
]

COMPETE = [
    ("Time to {x}, who's in?", ["shoot some hoops", "shoot some pool", "smash some balls at the driving range",
                                "kill some zombies on the new co-op map", "blast some clay pigeons"]),
    "We're going to blow them away at the polls on {day}, get out and vote.",
    ("Let's {x} {opp} tonight and get the three points.", ["murder", "destroy", "crush", "batter", "bury"]),
    ("{cand} is going to {x} the competition in the {race}.", ["crush", "destroy", "wipe out", "bury",
                                                                "annihilate", "obliterate"]),
    ("That was a killer workout, {x}.", ["legs are gone", "see you all on Thursday", "coach showed no mercy"]),
    ("She absolutely killed it at {x}.", ["the audition", "the swim meet", "her first 10k", "the spelling bee",
                                           "the county show"]),
    ("Go kill it at your {x} tomorrow, you've got this!", ["interview", "exam", "recital", "first match"]),
    ("We got destroyed {x} by {opp} on {day}.", ["4-0", "six-nil", "by thirty points"]),
    ("{opp} are going to get slaughtered in the {x}.", ["semi-final", "next round", "derby"]),
    "Shooting practice at {time} on {day}, bring your boots.",
    ("I'm going to beat you at {x} so badly on {day}, prepare yourself.", ["Mario Kart", "Scrabble",
                                                                         "table tennis", "chess"]),
    ("Take no prisoners at {x} tonight!", ["bingo", "the quiz", "netball", "the darts final"]),
    ("Who's ready to battle it out at {x} on {day}?", ["trivia night", "the chess club", "five-a-side",
                                                        "the bake-off"]),
    ("Our robot {x} every other team at the science fair.", ["crushed", "destroyed", "annihilated"]),
    ("The incumbents got massacred in the {x}.", ["council election", "by-election", "mayoral race"]),
    ("Get out and vote on {day} and let's {x} them at the ballot box.", ["bury", "crush", "hammer", "smash"]),
    ("Our striker was {x} today, two goals and an assist.", ["a killer", "lethal", "deadly", "on fire"]),
    ("Their keeper got {x} by that free kick.", ["murdered", "destroyed", "absolutely robbed"]),
    ("~we gonna {x} {opp} on {day} lets gooo", ["destroy", "murder", "wreck", "smoke"]),
    ("Kill shot! That smash won us the {x}.", ["badminton final", "doubles", "club championship"]),
    ("The debate was a bloodbath, {cand} came out on top.", [None]),
    ("Ready to {x} at parkrun on {day}.", ["smash my PB", "destroy the hill", "crush the last kilometre"]),
    ("Fight to the very last whistle against {opp}, lads.", [None]),
    ("Who wants to get thrashed at {x} on {day}?", ["darts", "pool", "bowling", "air hockey"]),
    ("That {x} was deadly, can't feel my arms.", ["spin class", "boxing circuit", "rowing session",
                                                  "bootcamp"]),
    ("{cand} torpedoed the opposition's plan in the {race}.", [None]),
    ("Gonna shoot some {x} in the park on {day}.", ["hoops", "penalties", "photos of the swans"]),
    ("Our debate club went in for the kill in the final round.", [None]),
    ("We need to knock {opp} out of the cup on {day}.", [None]),
    ("The pub quiz was carnage, we {x}.", ["still came second", "lost on the tie-breaker", "won by a point"]),
]

THREAT_INDIVIDUAL = [
    "{T} should die.",
    "~{t} should die",
    "I hope {t} dies, painfully.",
    "Someone needs to kill {t}. Seriously.",
    "{T} needs to be put down like a dog.",
    "Can somebody please just end {t}? Permanently.",
    "If {t} turns up on {day}, they're leaving in a body bag.",
    "{T}, you're going to die, and I'll be the one who does it.",
    "Wait till I get my hands on {t}. I'll rip their throat out.",
    "{T} is getting a knife in the ribs next time I see them.",
    "Going round to {t}'s place on {day} with a bat. They won't walk again.",
    "Honestly {t} should be shot.",
    "Drag {t} out of bed and beat them senseless.",
    "~{t} needs to die tbh",
    "Death to {t}.",
    "I swear I'm going to kill {t} for real this time, the knife's in my bag.",
    "Tell {t} to watch their back. Next time I see them they're dead.",
    "Every one of those {ng} should be strung up.",
    "Shoot any {ng} you see. I mean it.",
    "~honestly someone should just burn the {ng} alive",
    # harm-v0.7: hunting, hanging and lynching (v0.6 missed "We will hunt you down and hang you.")
    "We're going to hunt {t} down and string them up.",
    "Find {t}, drag them outside and hang them from a lamp post.",
    "~someone needs to lynch {t} already",
    "I'll track you down, {t}, and you'll hang for it. From my own rope.",
    "{T} will be hanging from a tree by {day}. Count on it.",
    "Hunt {t} down like the animal they are and make them bleed.",
    "You're dead, {t}. I'm coming for you on {day}.",
    "I'm going to find where you live, {t}, and cut your throat.",
    "Get a noose ready for {t}.",
]

DEATH_WISH = [
    "{G} should die.",
    "{G} should all die, every one of them.",
    "I hope every {mn} dies slowly.",
    "~all {g} need to die",
    "Kill all {g}.",
    "Somebody needs to start killing {g} before it's too late.",
    "Let every {mn} burn. I'll bring the matches.",
    "{G} should be exterminated.",
]
VARIANT_KINDS = {"hate_threat": 3, "figurative_violence": 2, "everyday_plan": 1, "figurative_competition": 1,
                 "threat_individual": 1, "hate_death_wish": 2}  # 1: every text, k: one in k (by hash)

# kind -> (templates, labels, rows per family cap, slot type)
KINDS = {
    "hate_derogation": (DEROGATION, {"hate": 1, "violence": 0, "harassment": -1}, 60, "group"),
    "hate_threat": (THREAT, {"hate": 1, "violence": 1, "harassment": -1}, 60, "group"),
    "counter_speech": (COUNTER, {"hate": 0, "violence": 0, "harassment": 0}, 55, "group"),
    "negated": (NEGATED, {"hate": 0, "violence": 0, "harassment": 0}, 65, "group"),
    "identity_positive_neutral": (POSITIVE, {"hate": 0, "violence": 0, "harassment": 0}, 50, "group"),
    "reclaimed_in_group": (RECLAIMED, {"hate": 0, "violence": 0, "harassment": 0}, 5, "plain"),
    "non_protected_abuse": (NON_PROTECTED, {"hate": 0, "violence": -1, "harassment": -1}, 28, "np"),
    "figurative_violence": (FIGURATIVE, {"hate": 0, "violence": 0, "harassment": 0}, 6, "plain"),
    # harm-v0.5 (generated after the kinds above, so their rows are unchanged)
    "everyday_plan": (EVERYDAY, {"hate": 0, "violence": 0, "harassment": 0}, 24, "slots"),
    "figurative_competition": (COMPETE, {"hate": 0, "violence": 0, "harassment": 0}, 14, "slots"),
    "threat_individual": (THREAT_INDIVIDUAL, {"hate": 0, "violence": 1, "harassment": -1}, 20, "slots"),
    "hate_death_wish": (DEATH_WISH, {"hate": 1, "violence": 1, "harassment": -1}, 20, "group"),
}


# ---- helpers --------------------------------------------------------------------------------------
def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def camel(s: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[\s\-]+", re.sub(r"[^\w\s\-]", "", s)) if w)


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def unpack(t):
    if isinstance(t, str):
        return t, [None], set()
    return t[0], t[1], (t[2] if len(t) > 2 else set())


def stratified(combos: list[tuple], key, n: int, rng: random.Random) -> list[tuple]:
    """Up to n combos, balanced over key(combo) (round robin over shuffled buckets)."""
    buckets = defaultdict(list)
    for c in combos:
        buckets[key(c)].append(c)
    order = list(buckets)
    rng.shuffle(order)
    for k in order:
        rng.shuffle(buckets[k])
    out = []
    while len(out) < n and any(buckets.values()):
        for k in order:
            if buckets[k] and len(out) < n:
                out.append(buckets[k].pop())
    return out


def fill_group(tpl: str, group, pred, x, rng: random.Random) -> str:
    g, mns, adj = group
    mn = rng.choice(mns)
    vals = {"g": g, "G": cap(g), "mn": mn, "m": f"{article(mn)} {mn}", "gtag": camel(g), "x": x}
    if adj:
        vals.update(adj=adj, A=f"{article(adj)} {adj}")
    if pred:
        pl, sg, neg = pred
        vals.update(pl=pl, sg=sg, neg=neg, tag=camel(f"{g} {pl}"))
        if pl.startswith("are "):
            vals["isnot"] = "are not " + pl[4:]
        if sg and sg.startswith("is "):
            vals["c"] = sg[3:]
    return tpl.format(**vals)


def slots(tpl: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", tpl))


def generate(rng: random.Random):
    """Yield (kind, family_index, text) before dedup / filtering."""
    for kind, (templates, _labels, per_family, mode) in KINDS.items():
        for i, t in enumerate(templates):
            tpl, xs, skip = unpack(t)
            need = slots(tpl)
            lower = tpl.startswith("~")
            body = tpl.lstrip("~")
            if mode == "group":
                groups = [gr for gr in GROUPS if gr[0] not in skip
                          and (gr[2] is not None or not need & {"adj", "A"})]
                if need & {"pl", "sg", "neg", "isnot", "c", "tag"}:
                    preds = [p for p in PREDS
                             if ("sg" not in need or p[1])
                             and ("isnot" not in need or p[0].startswith("are "))
                             and ("c" not in need or (p[1] or "").startswith("is "))]
                else:
                    preds = [None]
                combos = [(gi, pi, x) for gi in range(len(groups)) for pi in range(len(preds)) for x in xs]
                picked = stratified(combos, lambda c: c[0], per_family, rng)
                texts = [fill_group(body, groups[gi], preds[pi], x, rng) for gi, pi, x in picked]
            elif mode == "np":
                nps = NP_PREDS if "np" in need else [None]
                combos = [(tg, p) for tg in NP_TARGETS for p in nps]
                picked = stratified(combos, lambda c: c[0], per_family, rng)
                texts = [body.format(x=tg, X=cap(tg), np=p, xtag=camel(tg)) for tg, p in picked]
            elif mode == "slots":
                keys = sorted({k.lower() for k in need} - {"x"})
                combos = list(itertools.product(xs, *(FILLS[k] for k in keys)))
                picked = stratified(combos, lambda c: c[1] if len(c) > 1 else c[0], per_family, rng)
                texts = []
                for x, *vals in picked:
                    v = {"x": x, **dict(zip(keys, vals))}
                    v.update({k.upper(): cap(val) for k, val in list(v.items()) if isinstance(val, str)})
                    texts.append(body.format(**v))
            else:
                texts = [body.format(x=x) for x in xs][:per_family]
            for text in texts:
                text = text.lower() if lower else cap(text)
                yield kind, i, text
                every = VARIANT_KINDS.get(kind)
                if every and int(hashlib.sha256(text.encode()).hexdigest(), 16) % every == 0:
                    alt = full_stop_variant(text)
                    if alt:
                        yield kind, i, alt


def full_stop_variant(text: str) -> str | None:
    """The same text with its final full stop removed, or one added: the label must not depend on
    it (harm-v0.4 scored "I will find you and kill you" 0.21 without and 0.34 with the stop)."""
    if text.endswith(".") and not text.endswith(".."):
        return text[:-1]
    if text[-1:].isalnum():
        return text + "."
    return None


# ---- guard against the held-out evaluation --------------------------------------------------------
def eval_sentences() -> list[str]:
    """All sentences of training/harm_functional.py (CASES texts and expanded group templates) and
    of the probe training/data/probe_v2.jsonl."""
    tree = ast.parse(EVAL.read_text(encoding="utf-8"))
    vals = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            vals[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            vals[node.target.id] = node.value
    cases = ast.literal_eval(vals["CASES"])
    groups = ast.literal_eval(vals["GROUPS"])
    out = [t for _cat, _exp, texts in cases.values() for t in texts]
    for name in ("HATE_TEMPLATES", "NEUTRAL_TEMPLATES"):
        out += [cap(t.format(g=g)) for t in ast.literal_eval(vals[name]) for g in groups]
    if PROBE.exists():  # the held-out violence probe (training/harm_probe.py) is guarded the same way
        out += [json.loads(line)["text"] for line in PROBE.open(encoding="utf-8") if line.strip()]
    return out, groups


def make_normaliser(extra_groups: list[str]):
    forms = {g.lower() for g in extra_groups}
    for g, mns, adj in GROUPS:
        forms.add(g.lower())
        forms.update(m.lower() for m in mns)
        forms.update(m.lower() + "s" for m in mns)
    pat = re.compile(r"\b(" + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)) + r")\b")

    def norm(s: str) -> tuple[str, frozenset]:
        s = unicodedata.normalize("NFKC", s).lower().replace("’", "'")
        s = pat.sub(" qgrp ", s)
        s = re.sub(r"[^a-z0-9]+", " ", s).strip()
        return s, frozenset(s.split())

    return norm


def main() -> None:
    rng = random.Random(SEED)
    ev, ev_groups = eval_sentences()
    norm = make_normaliser(ev_groups)
    ev_norm = [norm(s) for s in ev]
    ev_exact = {n for n, _ in ev_norm}
    ev_lower = {s.lower() for s in ev}
    v0 = set()
    if OWN_V0.exists():
        v0 = {json.loads(line)["text"].lower() for line in OWN_V0.open(encoding="utf-8")}

    # split per family: within a kind, rank families by a seeded hash -> 60 / 20 / 20
    split_of = {}
    for kind, (templates, *_rest) in KINDS.items():
        fams = sorted(range(len(templates)),
                      key=lambda i: hashlib.sha256(f"{SEED}:{kind}:{i}".encode()).hexdigest())
        n = len(fams)
        n_tr, n_dev = round(0.6 * n), round(0.2 * n)
        for r, i in enumerate(fams):
            split_of[(kind, i)] = "train" if r < n_tr else ("dev" if r < n_tr + n_dev else "test")

    seen, rows, dropped = set(), [], Counter()
    max_sim = []
    for kind, i, text in generate(rng):
        key = text.lower()
        if len(text) > MAX_CHARS:
            dropped["too_long"] += 1
            continue
        if key in seen:
            dropped["duplicate"] += 1
            continue
        if key in v0:
            dropped["in_own_v0"] += 1
            continue
        n, toks = norm(text)
        if key in ev_lower or n in ev_exact:
            dropped["eval_exact_or_template"] += 1
            continue
        sim, near = max(((len(toks & et) / len(toks | et), e) for (_, et), e in zip(ev_norm, ev)),
                        key=lambda t: t[0])
        if sim >= NEAR:
            dropped["eval_near"] += 1
            continue
        max_sim.append((sim, text, near))
        seen.add(key)
        labels = KINDS[kind][1]
        rows.append({"text": text, **labels, "source": "own_v1", "kind": kind,
                     "family": f"{kind}:{i}", "split": split_of[(kind, i)]})

    # sanity checks
    by_text = defaultdict(set)
    for r in rows:
        by_text[r["text"].lower()].add(r["split"])
    assert all(len(s) == 1 for s in by_text.values()), "a text appears in two splits"
    fam_split = defaultdict(set)
    for r in rows:
        fam_split[r["family"]].add(r["split"])
    assert all(len(s) == 1 for s in fam_split.values()), "a family spans two splits"

    with OUT.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    splits = ("train", "dev", "test")
    ks = Counter((r["kind"], r["split"]) for r in rows)
    print(f"wrote {len(rows)} rows to {OUT}")
    print(f"{'kind':28s} {'fam':>4s} " + " ".join(f"{s:>6s}" for s in splits) + "  total  (hate, violence, harassment)")
    for kind, (templates, labels, *_r) in KINDS.items():
        tot = sum(ks[(kind, s)] for s in splits)
        nf = len({r["family"] for r in rows if r["kind"] == kind})
        print(f"{kind:28s} {nf:4d} " + " ".join(f"{ks[(kind, s)]:6d}" for s in splits)
              + f"  {tot:5d}  ({labels['hate']}, {labels['violence']}, {labels['harassment']})")
    sp = Counter(r["split"] for r in rows)
    print("per split:", dict(sp))
    for cat in ("hate", "violence", "harassment"):
        print(f"{cat:11s}", dict(sorted(Counter(r[cat] for r in rows).items())))
    hate = sum(r["hate"] == 1 for r in rows)
    contrast = sum(r["kind"] in ("counter_speech", "negated", "identity_positive_neutral") for r in rows)
    print(f"hate rows {hate}, contrast rows {contrast}, ratio {contrast / hate:.2f}")
    per_group = Counter()
    for r in rows:
        if r["kind"] in ("hate_derogation", "hate_threat", "counter_speech", "negated", "identity_positive_neutral"):
            lab = "hate" if r["hate"] == 1 else "zero"
            for g, mns, adj in GROUPS:
                t = r["text"].lower()
                if any(re.search(r"\b" + re.escape(w.lower()) + r"\b", t) for w in [g, *mns, *( [adj] if adj else [])]):
                    per_group[(g, lab)] += 1
                    break
    print("rows per group (hate / label-0 contrast):",
          ", ".join(f"{g} {per_group[(g, 'hate')]}/{per_group[(g, 'zero')]}" for g, _m, _a in GROUPS))
    print("dropped:", dict(dropped))
    max_sim.sort(reverse=True)
    print(f"closest kept texts to the held-out eval (token Jaccard, placeholder groups; drop >= {NEAR}):")
    for sim, text, near in max_sim[:5]:
        print(f"  {sim:.2f}  {text!r}  ~  {near!r}")


if __name__ == "__main__":
    main()
