//! The assessment workflow: draft → submitted → approved, or returned → submitted
//! again. HQ enforces it; the device applies the same rules so that the enumerator
//! learns at once, offline, what HQ would refuse.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Enumerator,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enumerator => "enumerator",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Enumerator, Self::Supervisor, Self::Admin].into_iter().find(|r| r.as_str() == s)
    }

    pub fn reviews(self) -> bool {
        matches!(self, Self::Supervisor | Self::Admin)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentStatus {
    /// Nothing has been entered for this location in this round.
    NotStarted,
    Draft,
    Submitted,
    Returned,
    Approved,
    /// Withdrawn: a tombstone. The values stay, nothing is deleted; an edit racing
    /// the void becomes a conflict for a supervisor, never a silent "delete wins".
    Voided,
}

impl AssessmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::Approved => "approved",
            Self::Voided => "voided",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::NotStarted, Self::Draft, Self::Submitted, Self::Returned, Self::Approved, Self::Voided]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// Whether an enumerator may change field values in this status.
    pub fn is_editable(self) -> bool {
        matches!(self, Self::NotStarted | Self::Draft | Self::Returned)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approve,
    Return,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Return => "return",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Approve, Self::Return].into_iter().find(|d| d.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a {status} assessment cannot be {action}")]
    InvalidTransition { status: &'static str, action: &'static str },
    #[error("only supervisors and admins review assessments")]
    NotAReviewer,
    #[error("the assessment has {0} open conflict(s); resolve them before approving")]
    OpenConflicts(usize),
    #[error("returning an assessment needs a comment for the enumerator")]
    CommentRequired,
    #[error("you entered figures of this assessment; another supervisor or admin must approve it")]
    OwnEntry,
}

impl TransitionError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            Self::NotAReviewer => ErrorCode::Forbidden,
            Self::OpenConflicts(_) => ErrorCode::OpenConflicts,
            Self::CommentRequired => ErrorCode::CommentRequired,
            Self::OwnEntry => ErrorCode::OwnEntry,
        }
    }
}

/// The status after an edit to a field, or why the edit is refused.
pub fn edit(status: AssessmentStatus) -> Result<AssessmentStatus, TransitionError> {
    match status {
        AssessmentStatus::NotStarted | AssessmentStatus::Draft => Ok(AssessmentStatus::Draft),
        AssessmentStatus::Returned => Ok(AssessmentStatus::Returned),
        s => Err(TransitionError::InvalidTransition { status: s.as_str(), action: "edited" }),
    }
}

/// The status after submission. Blocking rule errors are checked by the caller,
/// which holds the form.
pub fn submit(status: AssessmentStatus) -> Result<AssessmentStatus, TransitionError> {
    match status {
        AssessmentStatus::Draft | AssessmentStatus::Returned => Ok(AssessmentStatus::Submitted),
        // Submitting twice (a retried push) is not an error.
        AssessmentStatus::Submitted => Ok(AssessmentStatus::Submitted),
        s => Err(TransitionError::InvalidTransition { status: s.as_str(), action: "submitted" }),
    }
}

/// The status after voiding: anything entered and not yet approved can be withdrawn.
pub fn void(status: AssessmentStatus) -> Result<AssessmentStatus, TransitionError> {
    match status {
        AssessmentStatus::Draft
        | AssessmentStatus::Returned
        | AssessmentStatus::Submitted
        | AssessmentStatus::Voided => Ok(AssessmentStatus::Voided),
        s => Err(TransitionError::InvalidTransition { status: s.as_str(), action: "voided" }),
    }
}

/// Who is reviewing, as far as the decision needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reviewer {
    pub role: Role,
    /// Whether the reviewer entered any of the assessment's figures themselves. Four
    /// eyes: they may return it, never approve it.
    pub entered_figures: bool,
}

/// The status after a supervisor's review decision.
pub fn review(
    status: AssessmentStatus,
    decision: ReviewDecision,
    reviewer: Reviewer,
    open_conflicts: usize,
    comment: &str,
) -> Result<AssessmentStatus, TransitionError> {
    if !reviewer.role.reviews() {
        return Err(TransitionError::NotAReviewer);
    }
    if status != AssessmentStatus::Submitted {
        let action = match decision {
            ReviewDecision::Approve => "approved",
            ReviewDecision::Return => "returned",
        };
        return Err(TransitionError::InvalidTransition { status: status.as_str(), action });
    }
    match decision {
        ReviewDecision::Approve if reviewer.entered_figures => Err(TransitionError::OwnEntry),
        ReviewDecision::Approve if open_conflicts > 0 => Err(TransitionError::OpenConflicts(open_conflicts)),
        ReviewDecision::Approve => Ok(AssessmentStatus::Approved),
        ReviewDecision::Return if comment.trim().is_empty() => Err(TransitionError::CommentRequired),
        ReviewDecision::Return => Ok(AssessmentStatus::Returned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AssessmentStatus::*;

    fn by(role: Role) -> Reviewer {
        Reviewer { role, entered_figures: false }
    }

    #[test]
    fn an_approved_assessment_refuses_edits() {
        assert_eq!(edit(Approved).unwrap_err().code(), "invalid_transition");
        assert_eq!(edit(Submitted).unwrap_err().code(), "invalid_transition");
        assert_eq!(edit(Returned), Ok(Returned), "a returned assessment is fixed in place");
    }

    #[test]
    fn only_a_submitted_assessment_can_be_reviewed() {
        assert!(review(Draft, ReviewDecision::Approve, by(Role::Supervisor), 0, "").is_err());
        assert_eq!(review(Submitted, ReviewDecision::Approve, by(Role::Supervisor), 0, ""), Ok(Approved));
    }

    #[test]
    fn a_voided_assessment_is_a_tombstone_that_refuses_edits_and_submission() {
        assert_eq!(void(Draft), Ok(Voided));
        assert_eq!(void(Voided), Ok(Voided), "voiding twice (a retried push) is not an error");
        assert_eq!(void(Approved).unwrap_err().code(), "invalid_transition", "approved figures are locked");
        assert_eq!(void(NotStarted).unwrap_err().code(), "invalid_transition", "there is nothing to void");
        assert!(edit(Voided).is_err() && submit(Voided).is_err());
    }

    #[test]
    fn an_enumerator_cannot_review() {
        assert_eq!(
            review(Submitted, ReviewDecision::Approve, by(Role::Enumerator), 0, ""),
            Err(TransitionError::NotAReviewer)
        );
    }

    #[test]
    fn returning_needs_a_comment() {
        assert_eq!(
            review(Submitted, ReviewDecision::Return, by(Role::Supervisor), 0, "  "),
            Err(TransitionError::CommentRequired)
        );
        assert_eq!(review(Submitted, ReviewDecision::Return, by(Role::Supervisor), 0, "recheck"), Ok(Returned));
    }

    #[test]
    fn an_open_conflict_blocks_approval() {
        assert_eq!(
            review(Submitted, ReviewDecision::Approve, by(Role::Admin), 2, ""),
            Err(TransitionError::OpenConflicts(2))
        );
    }

    #[test]
    fn whoever_entered_the_figures_may_return_but_never_approve_them() {
        for role in [Role::Supervisor, Role::Admin] {
            let own = Reviewer { role, entered_figures: true };
            assert_eq!(
                review(Submitted, ReviewDecision::Approve, own, 0, ""),
                Err(TransitionError::OwnEntry),
                "four eyes: a {role:?} cannot approve their own figures"
            );
            assert_eq!(review(Submitted, ReviewDecision::Return, own, 0, "recheck"), Ok(Returned));
        }
    }
}
