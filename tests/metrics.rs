//! Metrics on hand-counted examples.

use ferronet::Tensor;
use ferronet::metrics::{ConfusionMatrix, Mistake, accuracy, most_confident_mistakes};

#[test]
fn p16_accuracy_compares_argmax_with_labels() {
    let p = Tensor::from_array(ndarray::array![[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.2, 0.6, 0.2]]);
    assert_eq!(accuracy(&p.argmax_rows(), &[0, 1, 1]).unwrap(), 2.0 / 3.0);
}

#[test]
fn accuracy_of_no_samples_is_an_error() {
    assert!(accuracy(&[], &[]).is_err());
}

#[test]
fn confusion_matrix_counts_true_rows_against_predicted_columns() {
    // truth:     0 0 0 1 1 2
    // predicted: 0 0 1 1 2 2
    let m = ConfusionMatrix::new(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 2], 3).unwrap();
    assert_eq!((m.count(0, 0), m.count(0, 1), m.count(1, 1), m.count(1, 2), m.count(2, 2)), (2, 1, 1, 1, 1));
    assert_eq!(m.correct(), 4);
    assert_eq!(m.total(), 6);
}

#[test]
fn precision_recall_and_f1_per_class() {
    let m = ConfusionMatrix::new(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 2], 3).unwrap();
    assert_eq!(m.precision(0), Some(1.0));
    assert_eq!(m.recall(0), Some(2.0 / 3.0));
    assert_eq!(m.f1(0), Some(0.8));
    assert_eq!(m.precision(2), Some(0.5));
    assert_eq!(m.recall(2), Some(1.0));
}

#[test]
fn precision_of_a_class_never_predicted_is_undefined() {
    let m = ConfusionMatrix::new(&[0, 0], &[0, 1], 2).unwrap();
    assert_eq!(m.precision(1), None);
    assert_eq!(m.recall(1), Some(0.0));
    assert_eq!(m.f1(1), None);
}

#[test]
fn a_class_out_of_range_is_an_error() {
    let err = ConfusionMatrix::new(&[0, 3], &[0, 1], 3).unwrap_err();
    assert_eq!(err.to_string(), "data set: sample 1: class 3 is out of range for 3 classes");
}

#[test]
fn mistakes_come_most_confident_first() {
    let p = Tensor::from_array(ndarray::array![[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.05, 0.95]]);
    let mistakes = most_confident_mistakes(&p, &[0, 0, 0, 1], 5).unwrap();
    assert_eq!(
        mistakes,
        [
            Mistake { index: 1, label: 0, predicted: 1, probability: 0.8 },
            Mistake { index: 2, label: 0, predicted: 1, probability: 0.6 }
        ]
    );
}
