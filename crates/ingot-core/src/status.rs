//! Lifecycle states of jobs and endpoints, and the learning task of a model.

use serde::{Deserialize, Serialize};

use crate::Error;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable text form used in storage, the API and the CLI.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(Error::UnknownValue { kind: $kind, value: s.to_string() }),
                }
            }
        }
    };
}

string_enum!(
    /// Where a training job is in its life: `Pending → Running → Completed | Failed | Stopped`.
    JobStatus, "job status" {
        /// Accepted and queued.
        Pending = "Pending",
        /// Executing on the job pool.
        Running = "Running",
        /// Finished and produced its outputs.
        Completed = "Completed",
        /// Ended with an error; the job carries a failure reason.
        Failed = "Failed",
        /// Stopped on request.
        Stopped = "Stopped",
    }
);

impl JobStatus {
    /// Whether the job can no longer change state.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Stopped
        )
    }
}

string_enum!(
    /// Where an endpoint is in its life: `Creating → InService | Failed`.
    EndpointStatus, "endpoint status" {
        /// The model is being loaded.
        Creating = "Creating",
        /// Serving requests.
        InService = "InService",
        /// The model could not be loaded; the endpoint carries a failure reason.
        Failed = "Failed",
    }
);

string_enum!(
    /// What a model predicts: a supervised task, or one of the unsupervised ones.
    Task, "task" {
        /// A real-valued target.
        Regression = "regression",
        /// Two classes.
        BinaryClassification = "binary_classification",
        /// More than two classes.
        MulticlassClassification = "multiclass_classification",
        /// Unsupervised: the nearest cluster and the distances to every centroid.
        Clustering = "clustering",
        /// Unsupervised: coordinates on the principal components.
        DimensionalityReduction = "dimensionality_reduction",
        /// Unsupervised: an anomaly score and flag.
        AnomalyDetection = "anomaly_detection",
    }
);

impl Task {
    /// Whether the task predicts class labels.
    pub fn is_classification(self) -> bool {
        matches!(
            self,
            Task::BinaryClassification | Task::MulticlassClassification
        )
    }

    /// Whether the task learns from a target column.
    pub fn is_supervised(self) -> bool {
        self.is_classification() || self == Task::Regression
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_text() {
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>().unwrap(), *status);
        }
        assert!("Done".parse::<JobStatus>().is_err());
        assert!(JobStatus::Stopped.is_terminal() && !JobStatus::Running.is_terminal());
    }

    #[test]
    fn tasks_round_trip_and_know_their_kind() {
        for task in Task::ALL {
            assert_eq!(task.as_str().parse::<Task>().unwrap(), *task);
        }
        assert!(Task::BinaryClassification.is_classification());
        assert!(!Task::Clustering.is_classification() && !Task::Clustering.is_supervised());
        assert!(Task::Regression.is_supervised() && !Task::Regression.is_classification());
        assert!(!Task::AnomalyDetection.is_supervised());
    }
}
