"""What plugins may use of the interviews domain: its tables, the questions and evaluation
items of a question set, expert evaluations and who may see an interview's scores yet
(`may_see_scores`, `blinded_interview_ids`: experts score blind), interview states, panels on the interview page,
reading a stored recording, who takes part in an interview and may see its data (`may_see`,
`visible_interview_ids`), whether a participant may enter it now (`participant_block`,
`link_closed_page`), storing or reading its transcript, a retake replacing earlier takes, the unfinished uploads of an interview and giving up on them
(`unfinished_uploads`, `abandon_unfinished`, `describe_upload`), form helpers, and the interviewees' protected attributes
(for the AI-ethics options: who may see them, their definitions and groups). Everything else in `core.interviews` is the
domain's own and may change without notice."""

from core.interviews.attributes import (can_see_attributes, definitions, groups_for_interviews, report_names,
                                        requires_attribute_access, uuid_or_404)
from core.interviews.evaluations import (EvaluationProblem, blinded_interview_ids, evaluation_of, expert_labels,
                                         may_see_scores, save_evaluation, scores_of)
from core.interviews.panels import Panel
from core.interviews.probe import BlobFile
from core.interviews.question_sets import EvaluationItem, Question, items_of, questions_of
from core.interviews.schedule import advance, in_tokyo, mark_finished, may_see, visible_interview_ids
from core.interviews.takes import supersede_earlier_takes
from core.interviews.tables import Evaluation, Interview, QuestionSet, QuestionSetVersion, Recording
from core.interviews.upload_expiry import UploadProgress, abandon_unfinished, unfinished_uploads
from core.interviews.upload_expiry import describe as describe_upload
from core.interviews.transcripts import store_transcript, transcript_of, transcripts_of_interview
from core.interviews.web_forms import Form, text
from core.interviews.web_recordings import link_closed_page, participant_block

__all__ = [
    "BlobFile", "Evaluation", "EvaluationItem", "EvaluationProblem", "Form", "Interview", "Panel", "Question",
    "QuestionSet", "QuestionSetVersion", "Recording", "advance", "blinded_interview_ids", "evaluation_of", "may_see_scores", "expert_labels", "in_tokyo",
    "items_of", "mark_finished", "may_see", "visible_interview_ids", "questions_of", "save_evaluation", "scores_of", "text",
    "link_closed_page", "participant_block",
    "UploadProgress", "abandon_unfinished", "describe_upload", "unfinished_uploads",
    "store_transcript", "transcript_of", "transcripts_of_interview", "supersede_earlier_takes",
    "can_see_attributes", "definitions", "groups_for_interviews", "report_names", "requires_attribute_access", "uuid_or_404",
]
