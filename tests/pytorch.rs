//! A file written by PyTorch, read by ferronet.
//!
//! `tests/data/torch_4_3_2.safetensors` (348 bytes) was written by `scripts/torch_interop.py
//! --write-tiny` with PyTorch 2.15.0:
//!
//! ```python
//! torch.manual_seed(2)
//! tiny = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Softmax(dim=1))
//! safetensors.torch.save_file(tiny.state_dict(), "tests/data/torch_4_3_2.safetensors")
//! tiny(torch.tensor(INPUT))   # the probabilities below
//! ```
//!
//! It holds `0.weight [3, 4]`, `0.bias [3]`, `2.weight [2, 3]` and `2.bias [2]` in F32, and no
//! ferronet metadata: a model is built in code and filled with `load_weights`. The values
//! below are those the script prints, each the shortest decimal of its f32.
#![cfg(feature = "safetensors")]

use ferronet::layers::{Activation, Dense, Layer, ReLU, Softmax};
use ferronet::{Error, Sequential, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;

const FILE: &str = "tests/data/torch_4_3_2.safetensors";

/// PyTorch's `0.weight`, `[out, in]`.
const LINEAR_0_WEIGHT: [[f32; 4]; 3] = [
    [0.11469507, -0.11898714, 0.13711435, -0.025538921],
    [0.21359384, 0.11903638, -0.05746734, -0.40423137],
    [0.1141572, -0.4426723, 0.065714, 0.033228934],
];
const LINEAR_0_BIAS: [f32; 3] = [-0.10994917, 0.40884846, 0.03336841];
/// PyTorch's `2.weight`, `[out, in]`.
const LINEAR_2_WEIGHT: [[f32; 3]; 2] =
    [[0.2394147, 0.24433161, -0.34059715], [-0.22195333, 0.5552482, -0.5655015]];
const LINEAR_2_BIAS: [f32; 2] = [-0.039212648, -0.045754857];

const INPUT: [[f32; 4]; 3] = [[0.5, -1.0, 2.0, 0.25], [-0.75, 0.125, 1.5, -2.0], [1.0, 1.0, -1.0, 0.0]];
/// `tiny(torch.tensor(INPUT))`: each hidden unit is active for some row, and the ReLU cuts
/// some off (units 0 and 2 in row 2).
const PYTORCH_PROBABILITIES: [[f32; 2]; 3] =
    [[0.5636322, 0.43636784], [0.4307533, 0.56924665], [0.4398272, 0.5601728]];

/// The same network in ferronet, with other weights until the file fills it.
fn tiny() -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(0);
    Sequential::new()
        .add(Dense::new(4, 3, &mut rng).unwrap())
        .add(ReLU::new())
        .add(Dense::new(3, 2, &mut rng).unwrap())
        .add(Softmax::new())
}

fn param(model: &mut Sequential<f32>, name: &str) -> Vec<f32> {
    let mut values = Vec::new();
    model.visit_params(&mut |p| {
        if p.name == name {
            values.extend(p.value.iter().copied());
        }
    });
    values
}

/// `[out, in]` rows read as ferronet's `[in, out]`, row by row.
fn transposed<const IN: usize, const OUT: usize>(weight: [[f32; IN]; OUT]) -> Vec<f32> {
    (0..IN).flat_map(|i| weight.iter().map(move |row| row[i])).collect()
}

#[test]
fn pytorchs_linear_weights_fill_dense_layers_transposed_exactly() {
    let mut model = tiny();
    model.load_weights(FILE).unwrap();
    assert_eq!(param(&mut model, "dense_1.weight"), transposed(LINEAR_0_WEIGHT));
    assert_eq!(param(&mut model, "dense_1.bias"), LINEAR_0_BIAS);
    assert_eq!(param(&mut model, "dense_2.weight"), transposed(LINEAR_2_WEIGHT));
    assert_eq!(param(&mut model, "dense_2.bias"), LINEAR_2_BIAS);
}

/// Within 1e-7 of PyTorch, not bit for bit: PyTorch's matrix product may sum in another order
/// (and fuse multiply-adds), which moves the last bit of an f32.
#[test]
fn a_model_filled_from_pytorch_gives_pytorchs_probabilities() {
    let mut model = tiny();
    model.load_weights(FILE).unwrap();
    let x = Tensor::from_shape_vec(&[3, 4], INPUT.concat()).unwrap();
    let probabilities = model.predict(&x, 3).unwrap();
    for (got, expected) in probabilities.as_slice().iter().zip(PYTORCH_PROBABILITIES.concat()) {
        assert!((got - expected).abs() <= 1e-7, "got {got}, PyTorch {expected}");
    }
}

// A Dense with a ReLU stands for `nn.Linear` and `nn.ReLU`: its tensors are `0.*`, the next
// Dense's `2.*`, as in PyTorch's four-module Sequential.
#[test]
fn a_dense_with_relu_is_filled_from_pytorchs_linear_and_relu() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = Sequential::new()
        .add(Dense::new(4, 3, &mut rng).unwrap().with_activation(Activation::Relu))
        .add(Dense::new(3, 2, &mut rng).unwrap())
        .add(Softmax::new());
    model.load_weights(FILE).unwrap();
    assert_eq!(param(&mut model, "dense_2.bias"), LINEAR_2_BIAS);
    let x = Tensor::from_shape_vec(&[3, 4], INPUT.concat()).unwrap();
    let probabilities = model.predict(&x, 3).unwrap();
    for (got, expected) in probabilities.as_slice().iter().zip(PYTORCH_PROBABILITIES.concat()) {
        assert!((got - expected).abs() <= 1e-7, "got {got}, PyTorch {expected}");
    }
}

#[test]
fn a_pytorch_file_has_no_architecture_to_rebuild() {
    let err = Sequential::<f32>::load(FILE).unwrap_err();
    assert!(matches!(err, Error::ModelFile { .. }), "{err:?}");
    assert!(err.to_string().contains("has no ferronet metadata"), "{err}");
}
