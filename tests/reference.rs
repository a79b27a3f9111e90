//! ferronet against numbers it did not compute: the JSON files in tests/data/reference/, copied
//! from ../shared/reference/. They were generated in f64 by an independent implementation
//! (gen_refs.py: JAX's jax.grad / jax.vjp for every derivative, optax for Adam and AdamW; each
//! file lists its package versions). Every case runs in f64 and in f32, each to the file's
//! tolerance for that precision, compared as numpy.allclose: |actual - expected| <= atol + rtol |expected|.
//!
//! Each test prints the cases it checked and the largest relative error it saw:
//! `cargo test --test reference -- --nocapture`.

mod common;

use common::reference::{Case, Reference, inputs_array, number, scalar, targets_of};
use ferronet::data::TargetBuffer;
use ferronet::layers::{Dense, Layer, Mode, Param, ReLU, Softmax};
use ferronet::loss::{CategoricalCrossEntropy, Loss, SoftmaxCrossEntropy};
use ferronet::optim::{Adam, AdamConfig, Optimizer};
use ferronet::{Float, Result, Sequential};
use ndarray::{Array1, Array2, ArrayD, ArrayViewD, s};
use serde_json::Value;

/// Why the Keras-style Adam cases are not checked.
const KERAS_ADAM: &str = "Keras's 'epsilon hat' Adam adds eps to sqrt(v) before the bias correction; \
    ferronet's Adam is the paper's and PyTorch's, eps after it (see optim::Adam and pitfall P7)";

/// The loss of the batch, its gradient and the loss of each row alone, for every form of the targets.
fn cross_entropy<F: Float>(case: &mut Case, loss: &dyn Loss<F>, input: &str, grad_key: &str) {
    let predictions: Array2<F> = case.input(input);
    for (form, targets) in targets_of::<F>(&case.value["inputs"]) {
        case.note = form;
        let mut grad = ArrayD::zeros(vec![0]);
        let batch = loss.loss(predictions.view(), targets.as_batch(), Some(&mut grad)).unwrap();
        case.check("loss", &scalar(batch));
        case.check(grad_key, &grad);
        let mut row_targets = TargetBuffer::default();
        let per_sample: Vec<F> = (0..predictions.nrows())
            .map(|i| {
                let row = predictions.slice(s![i..i + 1, ..]);
                loss.loss(row, row_targets.gather(&targets, &[i]).unwrap(), None).unwrap()
            })
            .collect();
        case.check("per_sample_loss", &Array1::from(per_sample).into_dyn());
    }
}

fn softmax_xent<F: Float>(case: &mut Case) {
    cross_entropy::<F>(case, &SoftmaxCrossEntropy, "logits", "grad_logits");
    let logits: ArrayD<F> = case.input("logits");
    let mut probabilities = ArrayD::zeros(vec![0]);
    Softmax::new().forward(logits.view(), &mut probabilities, Mode::Infer).unwrap();
    case.check("softmax", &probabilities);
}

/// ferronet's CategoricalCrossEntropy follows the clip-mask convention: `grad_probs`, not
/// `grad_probs_no_clip_mask` (see its docs).
fn categorical_crossentropy_probs<F: Float>(case: &mut Case) {
    cross_entropy::<F>(case, &CategoricalCrossEntropy, "probs", "grad_probs");
}

/// Forward, then backward with the upstream gradient: the output and the input gradient.
fn forward_backward<F: Float>(layer: &mut dyn Layer<F>, x: &ArrayD<F>, g: &ArrayD<F>) -> [ArrayD<F>; 2] {
    let (mut y, mut dx) = (ArrayD::zeros(vec![0]), ArrayD::zeros(vec![0]));
    layer.forward(x.view(), &mut y, Mode::Train).unwrap();
    layer.zero_grad();
    layer.backward(x.view(), y.view(), g.view(), Some(&mut dx)).unwrap();
    [y, dx]
}

fn layers<F: Float>(case: &mut Case) {
    let (x, g): (ArrayD<F>, ArrayD<F>) = (case.input("x"), case.input("upstream_grad"));
    let kind = case.value["layer"].as_str().unwrap_or_default().to_string();
    let [y, dx] = match kind.as_str() {
        "dense" => {
            let mut dense = Dense::from_weights(case.input("W"), case.input("b")).unwrap();
            let out = forward_backward(&mut dense, &x, &g);
            case.check("dW", &dense.weight().grad);
            case.check("db", &dense.bias().grad);
            out
        }
        "relu" => forward_backward(&mut ReLU::new(), &x, &g),
        "softmax" => forward_backward(&mut Softmax::new(), &x, &g),
        other => panic!("{}: unknown layer {other}", case.name()),
    };
    case.check("y", &y);
    case.check("dX", &dx);
}

/// Adam's hyper-parameters as the files name them (`weight_decay` only for AdamW).
fn adam_config(h: &Value) -> AdamConfig {
    AdamConfig::default()
        .with_lr(number(&h["lr"]))
        .with_beta1(number(&h["beta1"]))
        .with_beta2(number(&h["beta2"]))
        .with_eps(number(&h["eps"]))
        .with_weight_decay(h.get("weight_decay").map_or(0.0, number))
}

/// The reference's names for the parameters of Dense -> ReLU -> Dense (-> Softmax), in visiting order.
const MLP_PARAMS: [&str; 4] = ["W1", "b1", "W2", "b2"];

/// Checks every parameter's value or gradient against the object at `path`, keyed W1, b1, W2, b2.
fn check_mlp_params<F: Float>(case: &mut Case, model: &mut Sequential<F>, path: &str) {
    let mut found = Vec::new();
    let values = path.ends_with("params");
    model.visit_params(&mut |p: &mut Param<F>| found.push(if values { &p.value } else { &p.grad }.clone()));
    assert_eq!(found.len(), MLP_PARAMS.len());
    for (array, name) in found.iter().zip(MLP_PARAMS) {
        case.check(&format!("{path}/{name}"), array);
    }
}

fn mlp_step<F: Float>(case: &mut Case) {
    let x: ArrayD<F> = case.input("x");
    let inputs = &case.value["inputs"];
    let [w1, b1, w2, b2] = MLP_PARAMS.map(|k| inputs_array::<F>(&inputs["params"][k]));
    let config = adam_config(&inputs["optimizer"]);
    let dense = |w: &ArrayD<F>, b: &ArrayD<F>| {
        let (w, b) = (w.clone().into_dimensionality().unwrap(), b.clone().into_dimensionality().unwrap());
        Dense::from_weights(w, b).unwrap()
    };
    let steps = case.value["expected"]["steps"].as_array().map_or(0, Vec::len);
    for (form, targets) in targets_of::<F>(inputs) {
        case.note = form;
        // Ending in Softmax, so what is checked is the fused path `fit` takes.
        let mut model =
            Sequential::new().add(dense(&w1, &b1)).add(ReLU::new()).add(dense(&w2, &b2)).add(Softmax::new());
        let loss = model.backprop(x.view(), targets.as_batch(), &SoftmaxCrossEntropy).unwrap();
        case.check("initial/loss", &scalar(loss));
        check_mlp_params(case, &mut model, "initial/grads");
        let mut adam = Adam::new(config).unwrap();
        for k in 0..steps {
            let before = model.backprop(x.view(), targets.as_batch(), &SoftmaxCrossEntropy).unwrap();
            case.check(&format!("steps/{k}/loss_before"), &scalar(before));
            check_mlp_params(case, &mut model, &format!("steps/{k}/grads"));
            adam.step(&mut model).unwrap();
            check_mlp_params(case, &mut model, &format!("steps/{k}/params"));
            let after = model.batch_loss(x.view(), targets.as_batch(), &SoftmaxCrossEntropy).unwrap();
            case.check(&format!("steps/{k}/loss_after"), &scalar(after));
        }
    }
}

/// A layer that is nothing but one parameter vector, for driving an optimizer with given gradients.
struct Vector<F: Float>(Param<F>);

impl<F: Float> Layer<F> for Vector<F> {
    fn kind(&self) -> &'static str {
        "vector"
    }
    fn forward(&mut self, _: ArrayViewD<F>, _: &mut ArrayD<F>, _: Mode) -> Result<()> {
        Ok(())
    }
    fn backward(
        &mut self,
        _: ArrayViewD<F>,
        _: ArrayViewD<F>,
        _: ArrayViewD<F>,
        _: Option<&mut ArrayD<F>>,
    ) -> Result<()> {
        Ok(())
    }
    fn visit_params(&mut self, visit: &mut dyn FnMut(&mut Param<F>)) {
        visit(&mut self.0);
    }
}

fn adam<F: Float>(case: &mut Case) {
    let mut optimizer = Adam::<F>::new(adam_config(&case.value["inputs"]["hyperparameters"])).unwrap();
    let mut vector = Vector(Param::new("p", case.input("initial_params")));
    let gradients = case.value["inputs"]["gradients"].as_array().cloned().unwrap_or_default();
    for (k, g) in gradients.iter().enumerate() {
        vector.0.grad = inputs_array(g);
        optimizer.step(&mut vector).unwrap();
        let state = &optimizer.state()[0];
        assert_eq!(state.step, k as u64 + 1);
        let (m, v) = (state.m.clone(), state.v.clone());
        case.check(&format!("steps/{k}/params"), &vector.0.value);
        case.check_moments(&format!("steps/{k}/m"), &m);
        case.check_moments(&format!("steps/{k}/v"), &v);
    }
}

#[test]
fn softmax_cross_entropy_matches_jax_in_f64_and_f32() {
    Reference::load("softmax_xent.json").run(&[], softmax_xent::<f64>, softmax_xent::<f32>);
}

#[test]
fn categorical_cross_entropy_on_probabilities_matches_jax_with_the_clip_mask_gradient() {
    let file = Reference::load("categorical_crossentropy_probs.json");
    file.run(&[], categorical_crossentropy_probs::<f64>, categorical_crossentropy_probs::<f32>);
}

#[test]
fn dense_relu_and_softmax_layers_match_jax_in_f64_and_f32() {
    Reference::load("layers.json").run(&[], layers::<f64>, layers::<f32>);
}

#[test]
fn a_4_3_2_network_matches_jax_and_optax_through_three_adam_steps() {
    let skip = [("mlp_4_3_2_keras_adam", KERAS_ADAM)];
    Reference::load("mlp_step.json").run(&skip, mlp_step::<f64>, mlp_step::<f32>);
}

#[test]
fn adam_and_adamw_trajectories_match_optax_and_pytorch() {
    Reference::load("adam.json").run(&[("keras_adam_default", KERAS_ADAM)], adam::<f64>, adam::<f32>);
}
