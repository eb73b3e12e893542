"""Demo data: the European Prevention Prize 2027 with jurors, groups and applications.

`load_demo(settings)` fills an empty, migrated database (Tortoise already initialised) in one
transaction, so a visitor can log in as organiser, juror or applicant and see a realistic call.
It is idempotent: if the programme already exists it returns None and changes nothing.

Every demo account uses the password DEMO_PASSWORD; never load the demo on a production site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from grants.models import (
    AgeBand,
    Answer,
    Application,
    ApplicationStatus,
    Category,
    Edition,
    EditionRole,
    EditionStatus,
    Group,
    GroupMember,
    Panel,
    PanelMember,
    Programme,
    Question,
    QuestionKind,
    User,
)
from grants.passwords import hash_password
from grants.services import audit, lifecycle
from grants.services.submission import content_hash, load_content
from grants.settings import Settings
from scoring import get_rubric, rubric_fingerprint

DEMO_PASSWORD = "demo-password-2027"
PROGRAMME_SLUG = "european-prevention-prize"
EDITION_SLUG = "epp-2027"
EMAIL_DOMAIN = "demo.prevention-prize.eu"
RUBRIC_NAME = "prevention-prize"

# Pompidou Group member states (ISO 3166-1 alpha-2), to the best of our knowledge; check
# against the Council of Europe's current list before using this for a real call.
MEMBER_STATES = [
    "AT",
    "BA",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IS",
    "IE",
    "IL",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "MX",
    "MC",
    "ME",
    "MA",
    "NL",
    "MK",
    "NO",
    "PL",
    "PT",
    "MD",
    "RO",
    "SM",
    "RS",
    "SK",
    "SI",
    "ES",
    "SE",
    "CH",
    "TR",
    "UA",
    "GB",
]
# Partner countries of the Group's regional co-operation (Central Asia, South Caucasus).
PARTNER_COUNTRIES = ["AM", "AZ", "GE", "KZ", "KG", "TJ", "TM", "UZ"]


@dataclass(frozen=True)
class DemoSummary:
    """What `load_demo` created: enough for the CLI to tell the user how to log in."""

    edition_slug: str
    logins: list[tuple[str, str]] = field(default_factory=list)  # (role, email)
    applications: int = 0  # submitted applications
    drafts: int = 0


def format_logins(summary: DemoSummary) -> str:
    """Readable multi-line text listing every demo account and its role."""
    width = max((len(role) for role, _email in summary.logins), default=0)
    lines = [f"Demo log-ins (password: {DEMO_PASSWORD}):"]
    lines += [f"  {role.ljust(width)}  {email}" for role, email in summary.logins]
    lines.append(
        f"Edition {summary.edition_slug}: {summary.applications} submitted applications, "
        f"{summary.drafts} drafts."
    )
    return "\n".join(lines)


async def _create_answer(application: Application, question: Question, value: Any) -> None:
    await Answer.create(application=application, question=question, payload={"value": value})


def _email(local: str) -> str:
    return f"{local}@{EMAIL_DOMAIN}"


# --- The programme and its edition -------------------------------------------------------

PROGRAMME_NAME = {
    "en": "European Prevention Prize",
    "fr": "Prix européen de la prévention",
    "ru": "Европейская премия в области профилактики",
}
PROGRAMME_DESCRIPTION = {
    "en": "The Pompidou Group of the Council of Europe rewards youth-led drug-prevention "
    "projects: programmes that young people design and run themselves. Winning "
    "projects receive a prize and are presented as examples across Europe.",
    "fr": "Le Groupe Pompidou du Conseil de l'Europe récompense des projets de prévention "
    "des drogues menés par des jeunes : des programmes que les jeunes conçoivent et "
    "mettent en œuvre eux-mêmes. Les projets lauréats reçoivent un prix et sont "
    "présentés comme exemples dans toute l'Europe.",
    "ru": "Группа Помпиду Совета Европы награждает молодёжные проекты по профилактике "
    "употребления наркотиков — программы, которые молодые люди сами разрабатывают и "
    "реализуют. Проекты-победители получают премию и представляются как примеры по "
    "всей Европе.",
}
EDITION_TITLE = {
    "en": "European Prevention Prize 2027",
    "fr": "Prix européen de la prévention 2027",
    "ru": "Европейская премия в области профилактики 2027",
}
EDITION_DESCRIPTION = {
    "en": "The 2027 call is open to youth-led groups with a drug-prevention project that "
    "is running or has recently finished. Three prizes of 500 EUR each are awarded, "
    "one per category, after assessment by an expert jury and a youth jury.",
    "fr": "L'appel 2027 est ouvert aux groupes de jeunes ayant un projet de prévention des "
    "drogues en cours ou récemment terminé. Trois prix de 500 EUR chacun sont "
    "décernés, un par catégorie, après évaluation par un jury d'experts et un jury "
    "de jeunes.",
    "ru": "Конкурс 2027 года открыт для молодёжных групп с проектом по профилактике "
    "употребления наркотиков, который реализуется сейчас или недавно завершён. "
    "Присуждаются три премии по 500 евро, по одной в каждой категории, после оценки "
    "экспертным и молодёжным жюри.",
}
EDITION_RULES = {
    "en": "Youth-led groups whose members are aged 14 to 25 and live in a Pompidou Group "
    "member state or partner country may apply. Members under 18 need the consent of "
    "a parent or guardian, recorded on the group page before submission. A team has "
    "between 2 and 15 members, and each group may submit one application. "
    "Applications may be written in English, French or Russian.",
    "fr": "Peuvent candidater les groupes menés par des jeunes de 14 à 25 ans vivant dans "
    "un État membre ou un pays partenaire du Groupe Pompidou. Les membres de moins de "
    "18 ans doivent avoir le consentement d'un parent ou tuteur, enregistré sur la "
    "page du groupe avant l'envoi. Une équipe compte de 2 à 15 membres et chaque "
    "groupe peut déposer une seule candidature. Les dossiers peuvent être rédigés en "
    "anglais, en français ou en russe.",
    "ru": "Подать заявку могут молодёжные группы, участникам которых от 14 до 25 лет и "
    "которые живут в государстве — члене Группы Помпиду или в стране-партнёре. "
    "Участникам младше 18 лет нужно согласие родителя или опекуна, которое "
    "отмечается на странице группы до отправки заявки. В команде от 2 до 15 человек, "
    "и каждая группа может подать одну заявку. Заявки принимаются на английском, "
    "французском или русском языке.",
}

CATEGORIES = [
    (
        "school-peer",
        {
            "en": "School and peer education",
            "fr": "École et éducation par les pairs",
            "ru": "Школа и обучение по принципу «равный — равному»",
        },
    ),
    (
        "community-sport-culture",
        {
            "en": "Community, sport and culture",
            "fr": "Communauté, sport et culture",
            "ru": "Местное сообщество, спорт и культура",
        },
    ),
    (
        "digital-media",
        {
            "en": "Digital and social media",
            "fr": "Numérique et réseaux sociaux",
            "ru": "Цифровые технологии и социальные сети",
        },
    ),
]

APPROACH_OPTIONS = [
    {
        "value": "evidence-based",
        "label": {
            "en": "Evidence-based programme",
            "fr": "Programme fondé sur des données probantes",
            "ru": "Программа с доказанной эффективностью",
        },
    },
    {
        "value": "peer",
        "label": {
            "en": "Peer education",
            "fr": "Éducation par les pairs",
            "ru": "Обучение «равный — равному»",
        },
    },
    {
        "value": "arts",
        "label": {
            "en": "Arts and creative expression",
            "fr": "Arts et expression créative",
            "ru": "Искусство и творчество",
        },
    },
    {
        "value": "sport",
        "label": {"en": "Sport and leisure", "fr": "Sport et loisirs", "ru": "Спорт и досуг"},
    },
    {"value": "other", "label": {"en": "Other", "fr": "Autre", "ru": "Другое"}},
]

# (key, kind, required, word_limit, label, help, options)
QUESTIONS: list[tuple[str, QuestionKind, bool, int | None, dict, dict, list]] = [
    (
        "needs",
        QuestionKind.LONG_TEXT,
        True,
        300,
        {
            "en": "What need does your project answer, and how do you know?",
            "fr": "À quel besoin votre projet répond-il, et comment le savez-vous ?",
            "ru": "На какую потребность отвечает ваш проект и откуда вы о ней знаете?",
        },
        {
            "en": "Describe the situation of young people where you work. Mention surveys, local "
            "figures or conversations that show the need.",
            "fr": "Décrivez la situation des jeunes là où vous agissez. Citez des enquêtes, des "
            "chiffres locaux ou des échanges qui montrent le besoin.",
            "ru": "Опишите положение молодёжи там, где вы работаете. Укажите опросы, местные "
            "данные или беседы, которые подтверждают потребность.",
        },
        [],
    ),
    (
        "youth_role",
        QuestionKind.LONG_TEXT,
        True,
        300,
        {
            "en": "How do young people lead the project?",
            "fr": "Comment les jeunes dirigent-ils le projet ?",
            "ru": "Как молодые люди руководят проектом?",
        },
        {
            "en": "Who decided, planned, delivered and evaluated the activities? "
            "What do adults do?",
            "fr": "Qui a décidé, planifié, mis en œuvre et évalué les activités ? Quel est le rôle "
            "des adultes ?",
            "ru": "Кто принимал решения, планировал, проводил и оценивал мероприятия? Какова "
            "роль взрослых?",
        },
        [],
    ),
    (
        "participants",
        QuestionKind.NUMBER,
        True,
        None,
        {
            "en": "How many young people take part?",
            "fr": "Combien de jeunes participent ?",
            "ru": "Сколько молодых людей участвует в проекте?",
        },
        {
            "en": "Count the young people who take part in the activities, not only your team.",
            "fr": "Comptez les jeunes qui participent aux activités, pas seulement votre équipe.",
            "ru": "Учитывайте всех молодых участников мероприятий, а не только вашу команду.",
        },
        [],
    ),
    (
        "start_date",
        QuestionKind.DATE,
        False,
        None,
        {
            "en": "When did the project start?",
            "fr": "Quand le projet a-t-il commencé ?",
            "ru": "Когда начался проект?",
        },
        {
            "en": "The date of the first activity with young people.",
            "fr": "La date de la première activité avec des jeunes.",
            "ru": "Дата первого мероприятия с участием молодёжи.",
        },
        [],
    ),
    (
        "website",
        QuestionKind.LINK,
        False,
        None,
        {
            "en": "Project website or social media page",
            "fr": "Site web ou page de réseau social du projet",
            "ru": "Сайт проекта или страница в социальных сетях",
        },
        {
            "en": "Optional. A full address starting with https://",
            "fr": "Facultatif. Une adresse complète commençant par https://",
            "ru": "Необязательно. Полный адрес, начинающийся с https://",
        },
        [],
    ),
    (
        "approach",
        QuestionKind.CHOICE,
        True,
        None,
        {
            "en": "Which approach describes your project best?",
            "fr": "Quelle approche décrit le mieux votre projet ?",
            "ru": "Какой подход лучше всего описывает ваш проект?",
        },
        {
            "en": "Choose the main one; you can explain the others in your answers.",
            "fr": "Choisissez l'approche principale ; vous pouvez expliquer les autres dans vos "
            "réponses.",
            "ru": "Выберите основной подход; остальные можно описать в ответах.",
        },
        APPROACH_OPTIONS,
    ),
    (
        "workplan",
        QuestionKind.FILE,
        False,
        None,
        {
            "en": "Work plan or photos (PDF, JPEG, PNG)",
            "fr": "Plan de travail ou photos (PDF, JPEG, PNG)",
            "ru": "План работы или фотографии (PDF, JPEG, PNG)",
        },
        {
            "en": "Optional. Do not upload photos in which children can be recognised without "
            "their guardians' permission.",
            "fr": "Facultatif. N'envoyez pas de photos où des enfants sont reconnaissables sans "
            "l'accord de leurs parents ou tuteurs.",
            "ru": "Необязательно. Не загружайте фотографии, на которых можно узнать детей, без "
            "разрешения их родителей или опекунов.",
        },
        [],
    ),
]

PANELS = [
    ("expert-jury", 0.7, {"en": "Expert jury", "fr": "Jury d'experts", "ru": "Экспертное жюри"}),
    ("youth-jury", 0.3, {"en": "Youth jury", "fr": "Jury des jeunes", "ru": "Молодёжное жюри"}),
]

# (local part, display name, locale, panel, languages, country, organisation, expertise)
JURORS = [
    (
        "juror1",
        "Anna Weber",
        "en",
        "expert-jury",
        ["en", "fr"],
        "DE",
        "Fachstelle für Suchtprävention Berlin",
        ["school-peer"],
    ),
    (
        "juror2",
        "Marco Bianchi",
        "en",
        "expert-jury",
        ["en", "fr"],
        "IT",
        "University of Bologna, Department of Psychology",
        ["school-peer", "digital-media"],
    ),
    (
        "juror3",
        "Olena Kovalenko",
        "ru",
        "expert-jury",
        ["en", "ru"],
        "UA",
        "Public Health Centre of Ukraine",
        ["community-sport-culture"],
    ),
    (
        "juror4",
        "Sophie Martin",
        "fr",
        "expert-jury",
        ["en", "fr", "ru"],
        "FR",
        "Observatoire régional de la santé, Lyon",
        ["school-peer", "community-sport-culture"],
    ),
    (
        "juror5",
        "Giorgi Beridze",
        "ru",
        "youth-jury",
        ["en", "ru"],
        "GE",
        "Tbilisi Youth Council",
        ["digital-media", "community-sport-culture"],
    ),
    (
        "juror6",
        "Ingrid Hansen",
        "en",
        "youth-jury",
        ["en", "fr"],
        "NO",
        "Norwegian Youth Network for Health",
        ["digital-media"],
    ),
]

# applicant local part -> (display name, locale, group fields, members)
# members: (first name, age band, role, guardian name) - the "lead" is the applicant's account.
GROUPS: dict[str, tuple[str, str, dict[str, Any], list[tuple[str, AgeBand, str, str]]]] = {
    "applicant1": (
        "Anaïs",
        "fr",
        {
            "name": "Les Pairs de Jette",
            "kind": "school_class",
            "country": "BE",
            "organisation": "Athénée royal de Jette, Bruxelles",
        },
        [
            ("Anaïs", AgeBand.AGE_18_21, "lead", ""),
            ("Mehdi", AgeBand.AGE_16_17, "member", "Karima Benali"),
            ("Lucie", AgeBand.AGE_14_15, "member", "Philippe Dubois"),
            ("Tom", AgeBand.AGE_16_17, "member", "Els Peeters"),
        ],
    ),
    "applicant2": (
        "Aoife",
        "en",
        {
            "name": "Cork Youth Voices",
            "kind": "youth_organisation",
            "country": "IE",
            "organisation": "Cork City Youth Forum",
        },
        [
            ("Aoife", AgeBand.AGE_22_25, "lead", ""),
            ("Seán", AgeBand.AGE_18_21, "member", ""),
            ("Niamh", AgeBand.AGE_16_17, "member", "Mary O'Sullivan"),
            ("Darragh", AgeBand.AGE_14_15, "member", "Patrick Murphy"),
            ("Emma", AgeBand.AGE_18_21, "member", ""),
        ],
    ),
    "applicant3": (
        "Daria",
        "ru",
        {
            "name": "Молодёжь за здоровье",
            "kind": "informal_group",
            "country": "MD",
            "organisation": "Centrul de Tineret Chișinău",
        },
        [
            ("Daria", AgeBand.AGE_18_21, "lead", ""),
            ("Ion", AgeBand.AGE_16_17, "member", "Elena Rusu"),
            ("Maxim", AgeBand.AGE_18_21, "member", ""),
        ],
    ),
}

# Submitted applications: (applicant, language, category, publish_consent, title, summary,
# answers). Answer values are stored as the form would store them.
APPLICATIONS: list[tuple[str, str, str, bool, str, str, dict[str, Any]]] = [
    (
        "applicant2",
        "en",
        "school-peer",
        True,
        "Peer Talks: Students Leading Cannabis Conversations",
        "Senior students in four Cork secondary schools are trained as peer educators and run "
        "small-group sessions on cannabis, vaping and alcohol with younger pupils. The sessions "
        "use real scenarios written by the students themselves; teachers only observe.",
        {
            "needs": "A survey we ran with 612 pupils showed that one in four fifteen-year-olds "
            "believed most classmates used cannabis, while the real figure was under 10%. "
            "Pupils told us they switch off when adults lecture them, so we chose a "
            "social-norms approach delivered by people their own age.",
            "youth_role": "A steering group of eight students chose the topics, "
            "wrote the scenarios "
            "and designed the evaluation questionnaire. Students deliver every "
            "session; a youth worker supports training and safeguarding only.",
            "participants": 48,
            "start_date": "2025-09-15",
            "approach": "peer",
        },
    ),
    (
        "applicant2",
        "en",
        "community-sport-culture",
        True,
        "Late Night League: Football After Dark",
        "Friday-night five-a-side football in three Cork neighbourhoods where young people had "
        "few safe places to go at weekends. Young coaches run the league and use half-time for "
        "short, honest conversations about alcohol and drugs.",
        {
            "needs": "Youth diversion officers and our own street survey of 140 young people "
            "pointed to weekend nights as the time when drinking and drug use start, "
            "mostly because there is nothing else to do. The local sports hall was closed "
            "in the evenings.",
            "youth_role": "Six young coaches aged 17 to 22 run the league, set the rules and pick "
            "the half-time topics. A council of players decides how the budget is "
            "spent.",
            "participants": 120,
            "start_date": "2024-10-04",
            "approach": "sport",
            "website": "https://latenightleague.example.org",
        },
    ),
    (
        "applicant2",
        "en",
        "digital-media",
        False,
        "Scroll Smart: Answering Drug Content on TikTok",
        "A team of young creators makes short videos that answer glamorised drug content on "
        "social media with facts, humour and personal stories. A pharmacologist checks every "
        "video before it is posted, and the team tracks comments to learn which messages land.",
        {
            "needs": "In our focus groups, 30 of 34 young people had seen videos presenting "
            "ketamine or so-called legal highs as harmless in the past month. Existing "
            "health campaigns did not reach them on the platforms they use.",
            "youth_role": "Young creators pick the trends to answer, write and film all videos and "
            "moderate the comments. They also run the monthly review where the team "
            "decides what to change.",
            "participants": 22,
            "start_date": "2025-03-01",
            "approach": "evidence-based",
        },
    ),
    (
        "applicant1",
        "en",
        "school-peer",
        True,
        "Brussels Youth Prevention Exchange",
        "Students from our school in Jette and a partner school in Flanders swap prevention "
        "workshops they have designed, using English as a shared language. Each school teaches "
        "the other what works in its own community.",
        {
            "needs": "Our school's wellbeing survey showed rising use of energy drinks "
            "and cannabis "
            "before exams, and students named stress as the main reason. The Flemish "
            "school had tackled exam stress with a peer programme and we wanted to learn "
            "from them.",
            "youth_role": "Students design and deliver the workshops, and a student committee "
            "organises the exchange visits. Teachers only handle travel permissions.",
            "participants": 36,
            "start_date": "2025-11-10",
            "approach": "peer",
        },
    ),
    (
        "applicant1",
        "fr",
        "school-peer",
        True,
        "Ambassadeurs santé du lycée",
        "Des élèves volontaires sont formés comme ambassadeurs santé et animent des ateliers de "
        "prévention sur le cannabis et l'alcool pour les plus jeunes. Ils ont créé eux-mêmes un "
        "jeu de cartes pour lancer la discussion sans jugement.",
        {
            "needs": "Une enquête que nous avons menée auprès de 280 élèves montre que beaucoup "
            "sous-estiment les risques du cannabis avant de conduire un scooter. "
            "L'infirmière scolaire confirme que les questions arrivent souvent trop tard.",
            "youth_role": "Les ambassadeurs choisissent les thèmes, conçoivent le jeu de cartes et "
            "animent chaque atelier. Ils présentent aussi le bilan annuel au conseil "
            "des élèves.",
            "participants": 25,
            "start_date": "2025-01-20",
            "approach": "peer",
        },
    ),
    (
        "applicant1",
        "fr",
        "community-sport-culture",
        True,
        "Scène ouverte : théâtre-forum contre les addictions",
        "Une troupe de jeunes écrit et joue des scènes de théâtre-forum sur la pression du "
        "groupe, l'alcool et les drogues. Le public peut arrêter la scène et prendre la place "
        "d'un personnage pour essayer une autre fin.",
        {
            "needs": "Les jeunes du quartier nous disent que les campagnes d'affiches ne les "
            "touchent pas. Le centre culturel local a constaté une hausse des "
            "consommations lors des fêtes de fin d'année scolaire.",
            "youth_role": "Les jeunes écrivent les scènes à partir de leurs expériences, jouent et "
            "animent les débats. Un animateur de théâtre les accompagne seulement "
            "pour la technique.",
            "participants": 18,
            "start_date": "2024-09-01",
            "approach": "arts",
        },
    ),
    (
        "applicant1",
        "fr",
        "digital-media",
        True,
        "Podcast « Sans filtre »",
        "Chaque mois, des lycéens enregistrent un podcast où ils interrogent des jeunes, des "
        "soignants et d'anciens consommateurs sur les drogues. Les épisodes sont écoutés en "
        "classe avec un guide de discussion écrit par l'équipe.",
        {
            "needs": "Les élèves cherchent des informations sur les drogues sur les réseaux "
            "sociaux, où circulent beaucoup d'idées fausses. Nous voulons offrir une "
            "source fiable dans un format qu'ils écoutent déjà.",
            "youth_role": "L'équipe de rédaction, composée uniquement d'élèves, "
            "choisit les sujets, "
            "mène les interviews et fait le montage. Les enseignants relisent "
            "seulement le guide de discussion.",
            "participants": 12,
            "start_date": "2025-02-03",
            "approach": "evidence-based",
            "website": "https://sansfiltre.example.org",
        },
    ),
    (
        "applicant3",
        "fr",
        "community-sport-culture",
        True,
        "Festival jeunesse sans drogue à Chișinău",
        "Un festival d'un jour organisé par des jeunes, avec concerts, sport de rue et stands "
        "d'information sur la prévention. Les associations de jeunesse de la ville y présentent "
        "leurs loisirs gratuits comme alternatives à la consommation.",
        {
            "needs": "Les centres de jeunesse de Chișinău signalent que les jeunes connaissent mal "
            "les activités gratuites existantes. Dans notre enquête auprès de 200 jeunes, "
            "l'ennui est la première raison citée pour essayer une drogue.",
            "youth_role": "Un comité de dix jeunes organise tout le festival : programme, "
            "partenariats, communication et évaluation. Les adultes du centre de "
            "jeunesse apportent seulement la logistique.",
            "participants": 300,
            "start_date": "2025-05-17",
            "approach": "other",
        },
    ),
    (
        "applicant3",
        "ru",
        "school-peer",
        True,
        "Равный — равному: школьные тренеры профилактики",
        "Старшеклассники проходят обучение и проводят занятия по профилактике употребления "
        "наркотиков для учеников 7–9 классов. Занятия строятся на обсуждении реальных "
        "ситуаций и отработке навыков отказа.",
        {
            "needs": "Наш опрос 350 школьников показал, что подростки узнают о наркотиках в "
            "основном из соцсетей и от друзей. Школьные психологи подтверждают, что "
            "лекции взрослых ученики почти не слушают.",
            "youth_role": "Старшеклассники сами выбирают темы, готовят упражнения и ведут "
            "занятия. Молодёжные лидеры группы проводят их обучение и собирают "
            "отзывы.",
            "participants": 40,
            "start_date": "2025-02-10",
            "approach": "peer",
        },
    ),
    (
        "applicant3",
        "ru",
        "community-sport-culture",
        False,
        "Двор без дыма: уличный спорт для подростков",
        "Молодые волонтёры проводят бесплатные тренировки по уличному баскетболу и воркауту во "
        "дворах спальных районов. После каждой тренировки проходит короткая беседа о здоровье "
        "и рисках употребления психоактивных веществ.",
        {
            "needs": "В районах Ботаника и Рышкановка почти нет бесплатных спортивных секций, и "
            "подростки проводят вечера во дворах без дела. Социальные работники отмечают "
            "рост употребления алкоголя среди несовершеннолетних.",
            "youth_role": "Волонтёры 17–23 лет ведут тренировки, составляют расписание и сами "
            "решают, какие темы обсуждать. Подростки выбирают новые площадки и виды "
            "спорта.",
            "participants": 85,
            "start_date": "2024-06-01",
            "approach": "sport",
        },
    ),
    (
        "applicant3",
        "ru",
        "digital-media",
        True,
        "Телеграм-бот «Спроси честно»",
        "Анонимный телеграм-бот, в котором подростки задают вопросы о наркотиках и получают "
        "проверенные ответы от обученных молодых консультантов. Сложные вопросы передаются "
        "специалистам центра здоровья, дружественного к молодёжи.",
        {
            "needs": "Подростки стесняются спрашивать о наркотиках взрослых и ищут ответы на "
            "форумах с недостоверной информацией. В молодёжный центр здоровья обращаются "
            "лишь единицы.",
            "youth_role": "Молодые консультанты пишут базу ответов, дежурят в боте и анализируют "
            "анонимную статистику вопросов. Они же решают, какие темы вынести в "
            "публичные посты.",
            "participants": 15,
            "start_date": "2025-04-01",
            "approach": "evidence-based",
            "website": "https://sprosichestno.example.org",
        },
    ),
    (
        "applicant3",
        "ru",
        "digital-media",
        True,
        "Комикс «Мой выбор»",
        "Подростки создают веб-комикс о героях, которые сталкиваются с давлением сверстников и "
        "предложением попробовать наркотики. Каждый выпуск заканчивается вопросом к читателям, "
        "а ответы обсуждаются на встречах в школах.",
        {
            "needs": "Наши сверстники почти не читают брошюры, но охотно читают комиксы и истории "
            "в соцсетях. Мы хотим говорить о профилактике на понятном им языке.",
            "youth_role": "Сценарии и рисунки создают сами подростки; молодёжные лидеры группы "
            "организуют обсуждения в школах и собирают отклики читателей.",
            "participants": 20,
            "start_date": "2025-09-01",
            "approach": "arts",
        },
    ),
]

# Drafts of applicant1, still being written: (language, category or None, title, summary, answers)
DRAFTS: list[tuple[str, str | None, str, str, dict[str, Any]]] = [
    (
        "fr",
        "community-sport-culture",
        "Atelier parents-ados : parler des drogues en famille",
        "Des soirées où des adolescents animent un échange avec des parents sur les drogues.",
        {"needs": "Les parents nous disent qu'ils ne savent pas comment aborder le sujet."},
    ),
    ("en", None, "Exam Stress Without Pills", "", {}),
]


async def load_demo(settings: Settings) -> DemoSummary | None:
    """Create the demo edition and everything in it; None if it already exists."""
    del settings  # the demo needs nothing from the settings yet (kept for a stable signature)
    if await Programme.exists(slug=PROGRAMME_SLUG):
        return None
    password_hash = await hash_password(DEMO_PASSWORD)  # once: argon2id is slow on purpose
    now = datetime.now(UTC)
    async with in_transaction():
        if await Programme.exists(slug=PROGRAMME_SLUG):  # someone was faster
            return None
        return await _create(password_hash, now)


async def _create(password_hash: str, now: datetime) -> DemoSummary:
    logins: list[tuple[str, str]] = []

    async def user(
        local: str, name: str, *, role: str, locale: str = "en", is_admin: bool = False
    ) -> User:
        created = await User.create(
            email=_email(local),
            display_name=name,
            password_hash=password_hash,
            locale=locale,
            is_admin=is_admin,
            email_verified_at=now,
        )
        logins.append((role, created.email))
        return created

    rubric = get_rubric(RUBRIC_NAME)
    programme = await Programme.create(
        slug=PROGRAMME_SLUG, name=PROGRAMME_NAME, description=PROGRAMME_DESCRIPTION
    )
    edition = await Edition.create(
        programme=programme,
        slug=EDITION_SLUG,
        year=2027,
        title=EDITION_TITLE,
        description=EDITION_DESCRIPTION,
        rules=EDITION_RULES,
        status=EditionStatus.OPEN,
        timezone="Europe/Paris",
        opens_at=now - timedelta(days=30),
        closes_at=now + timedelta(days=60),
        reference_prefix="EPP",
        eligible_countries=MEMBER_STATES + PARTNER_COUNTRIES,
        min_age=14,
        max_age=25,
        consent_age=18,
        min_team_size=2,
        max_team_size=15,
        reviews_per_application=3,
        blind_review=True,
        rubric_name=RUBRIC_NAME,
        rubric_version=rubric.version,
        rubric_fingerprint=rubric_fingerprint(rubric),
        aggregator="weighted-mean",
    )
    categories = {
        slug: await Category.create(edition=edition, slug=slug, name=name)
        for slug, name in CATEGORIES
    }
    questions: dict[str, Question] = {}
    for position, (key, kind, required, word_limit, label, help_, options) in enumerate(
        QUESTIONS, start=1
    ):
        questions[key] = await Question.create(
            edition=edition,
            key=key,
            step=2,
            position=position,
            kind=kind,
            label=label,
            help=help_,
            required=required,
            word_limit=word_limit,
            options=options,
        )
    panels = {
        slug: await Panel.create(edition=edition, slug=slug, name=name, weight=weight)
        for slug, weight, name in PANELS
    }

    admin = await user("admin", "Site administrator", role="admin", is_admin=True)
    organiser = await user("organiser", "Claire", role="organiser", locale="fr")
    await EditionRole.create(edition=edition, user=organiser, role="organiser")
    for local, name, locale, panel, languages, country, organisation, expertise in JURORS:
        juror = await user(local, name, role=f"juror ({panel})", locale=locale)
        await PanelMember.create(
            panel=panels[panel],
            user=juror,
            languages=languages,
            country=country,
            organisation=organisation,
            expertise=expertise,
            min_load=0,
            max_load=10,
            accepted_at=now - timedelta(days=20),
        )

    applicants: dict[str, tuple[User, Group]] = {}
    for local, (name, locale, group_fields, members) in GROUPS.items():
        applicant = await user(local, name, role="applicant", locale=locale)
        group = await Group.create(created_by=applicant, **group_fields)
        for first_name, band, role, guardian in members:
            minor = band.lower_age < edition.consent_age
            await GroupMember.create(
                group=group,
                user=applicant if role == "lead" else None,
                first_name=first_name,
                role=role,
                age_band=band,
                guardian_consent_at=now - timedelta(days=25) if minor else None,
                guardian_name=guardian if minor else "",
                consent_recorded_by=applicant if minor else None,
            )
        applicants[local] = (applicant, group)

    number = 0

    async def application(
        applicant: str,
        language: str,
        category: str | None,
        title: str,
        summary: str,
        answers: dict[str, Any],
        *,
        consent: bool,
        created_at: datetime,
    ) -> Application:
        nonlocal number
        number += 1
        author, group = applicants[applicant]
        created = await Application.create(
            edition=edition,
            group=group,
            category=categories[category] if category else None,
            reference=f"{edition.reference_prefix}-{edition.year}-{number:04d}",
            title=title,
            summary=summary,
            language=language,
            publish_consent=consent,
            created_by=author,
            created_at=created_at,
        )
        for key, value in answers.items():
            await _create_answer(created, questions[key], value)
        await lifecycle.record_start(created, actor=author, at=created_at)
        return created

    for index, (local, language, category, consent, title, summary, answers) in enumerate(
        APPLICATIONS
    ):
        submitted_at = now - timedelta(days=26 - 2 * index, hours=index % 5)
        created = await application(
            local,
            language,
            category,
            title,
            summary,
            answers,
            consent=consent,
            created_at=submitted_at - timedelta(days=3),
        )
        created.submitted_at = submitted_at
        created.content_hash = content_hash(created, await load_content(created))
        await created.save(update_fields=["submitted_at", "content_hash"])
        await lifecycle.move(
            created, ApplicationStatus.SUBMITTED, actor=applicants[local][0], at=submitted_at
        )
    for draft in DRAFTS:  # (language, category, title, summary, answers)
        await application("applicant1", *draft, consent=False, created_at=now - timedelta(days=2))

    edition.next_reference = number + 1
    await edition.save(update_fields=["next_reference"])
    await audit.record(
        "demo.load",
        actor=admin,
        object_type="edition",
        object_id=edition.id,
        after={"applications": len(APPLICATIONS), "drafts": len(DRAFTS)},
    )
    return DemoSummary(
        edition_slug=edition.slug,
        logins=logins,
        applications=len(APPLICATIONS),
        drafts=len(DRAFTS),
    )
