//! What every optimizer shares: a step count and per-parameter buffers
//! (moments), the checked step loop, and the checked state load.

use std::collections::{HashMap, HashSet};

use tapegrad_tensor::{Scalar, Tensor};

use crate::io::check_unique;
use crate::{NnError, Param, ParamGrads, ParamId, Result};

/// One kind of per-parameter buffer: its name in the state, and whether
/// its elements can only be `>= 0` (second moments).
#[derive(Debug, Clone, Copy)]
pub(super) struct Spec {
    pub name: &'static str,
    pub non_negative: bool,
}

/// The step count and the buffers, by parameter name.
#[derive(Debug, Clone, Default)]
pub(super) struct Buffers<T: Scalar> {
    steps: u64,
    slots: HashMap<String, Vec<Tensor<T>>>,
}

impl<T: Scalar> Buffers<T> {
    /// The checked step: refuses repeated names, a gradient of a parameter
    /// that is not among `params` (used in the pass but not declared by the
    /// module, so it would never be updated), misshaped gradients and
    /// buffers of another shape before anything changes; then counts the
    /// step, makes zero buffers for parameters seen for the first time, and
    /// calls `update(step, weights, gradient, buffers)` for each parameter
    /// with a gradient.
    pub fn step(
        &mut self,
        op: &'static str,
        specs: &[Spec],
        params: Vec<(String, &mut Param<T>)>,
        grads: &ParamGrads<T>,
        mut update: impl FnMut(u64, &mut [T], &[T], &mut [Tensor<T>]),
    ) -> Result<()> {
        check_unique(params.iter().map(|(n, _)| n.as_str()), &format!("{op} step"), "parameters")?;
        let declared: HashSet<ParamId> = params.iter().map(|(_, p)| p.id()).collect();
        if let Some(origin) = grads.first_undeclared(&declared) {
            return Err(NnError::UndeclaredParameter { op, origin: origin.clone() });
        }
        for (name, p) in &params {
            if let Some(g) = grads.get(p).filter(|g| g.shape() != p.shape()) {
                return Err(NnError::GradientShape { op, param: name.clone(), got: g.shape().to_vec(), expected: p.shape().to_vec() });
            }
            if let Some(b) = self.slots.get(name).and_then(|s| s.iter().find(|b| b.shape() != p.shape())) {
                return Err(NnError::OptimizerState {
                    op,
                    message: format!("the buffers of `{name}` have shape {:?}, the parameter {:?}", b.shape(), p.shape()),
                });
            }
        }
        let step = self.steps.checked_add(1).ok_or_else(|| NnError::OptimizerState { op, message: "step count overflow".into() })?;
        self.steps = step;
        let mut no_buffers = Vec::new();
        for (name, p) in params {
            let slot = if specs.is_empty() {
                &mut no_buffers
            } else {
                self.slots.entry(name).or_insert_with(|| specs.iter().map(|_| Tensor::zeros(p.shape())).collect())
            };
            if let Some(g) = grads.get(p) {
                update(step, p.data_mut(), g.data(), slot);
            }
        }
        Ok(())
    }

    /// The state: `KIND.steps`, then `KIND.BUFFER.PARAMETER` by parameter name.
    pub fn state(&self, kind: &str, specs: &[Spec]) -> Vec<(String, Tensor<T>)> {
        let mut out = vec![(format!("{kind}.steps"), Tensor::scalar(T::from_f64_lossy(self.steps as f64)))];
        let mut keys: Vec<&String> = self.slots.keys().collect();
        keys.sort();
        for k in keys {
            for (spec, t) in specs.iter().zip(&self.slots[k]) {
                out.push((format!("{kind}.{}.{k}", spec.name), t.clone()));
            }
        }
        out
    }

    /// Replaces the state by `state`, checked in full against `params`
    /// first (see [`crate::Optimizer::load_state`]).
    pub fn load(
        &mut self,
        op: &'static str,
        kind: &str,
        specs: &[Spec],
        params: &[(String, &Param<T>)],
        state: &[(String, Tensor<T>)],
    ) -> Result<()> {
        let bad = |message: String| NnError::OptimizerState { op, message };
        check_unique(params.iter().map(|(n, _)| n.as_str()), &format!("{op} state"), "parameters")?;
        check_unique(state.iter().map(|(n, _)| n.as_str()), &format!("{op} state"), "entries")?;
        let shapes: HashMap<&str, &[usize]> = params.iter().map(|(n, p)| (n.as_str(), p.shape())).collect();
        let mut steps = None;
        let mut slots: HashMap<String, Vec<Option<Tensor<T>>>> = HashMap::new();
        for (entry, t) in state {
            let rest = entry.strip_prefix(kind).and_then(|r| r.strip_prefix('.'));
            let rest = rest.ok_or_else(|| bad(format!("entry `{entry}` is not {kind} state")))?;
            if rest == "steps" {
                steps = Some(step_count(entry, t).map_err(bad)?);
                continue;
            }
            let (buf, param) = rest.split_once('.').ok_or_else(|| bad(format!("entry `{entry}` names no buffer")))?;
            let i =
                specs.iter().position(|s| s.name == buf).ok_or_else(|| bad(format!("entry `{entry}`: {op} keeps no `{buf}` buffer")))?;
            let shape = *shapes.get(param).ok_or_else(|| bad(format!("entry `{entry}` is for `{param}`, not one of the parameters")))?;
            if t.shape() != shape {
                return Err(bad(format!("entry `{entry}` has shape {:?}, the parameter `{param}` {shape:?}", t.shape())));
            }
            if let Some(k) = t.data().iter().position(|v| !v.is_finite() || (specs[i].non_negative && *v < T::zero())) {
                return Err(bad(format!("entry `{entry}` holds {} at element {k}", t.data()[k])));
            }
            slots.entry(param.to_string()).or_insert_with(|| vec![None; specs.len()])[i] = Some(t.clone());
        }
        let steps = steps.ok_or_else(|| bad(format!("no `{kind}.steps` entry")))?;
        // Buffers are made for every parameter at the first step: a state
        // that has stepped (or has any buffer) has them all.
        if !specs.is_empty() && (steps > 0 || !slots.is_empty()) {
            let mut names: Vec<&str> = shapes.keys().copied().collect();
            names.sort_unstable();
            for n in names {
                let have = slots.get(n);
                if let Some(spec) = specs.iter().zip(0..).find(|(_, i)| have.is_none_or(|h| h[*i].is_none())).map(|(s, _)| s) {
                    return Err(bad(format!("no `{kind}.{}.{n}` entry, for parameter `{n}` after {steps} steps", spec.name)));
                }
            }
        }
        self.steps = steps;
        self.slots = slots.into_iter().map(|(n, v)| (n, v.into_iter().flatten().collect())).collect();
        Ok(())
    }
}

/// The step count in `t`: a whole number `>= 0` (exact in f64).
fn step_count<T: Scalar>(entry: &str, t: &Tensor<T>) -> std::result::Result<u64, String> {
    if t.numel() != 1 {
        return Err(format!("entry `{entry}` has shape {:?}, not a scalar step count", t.shape()));
    }
    let v = t.data()[0].to_f64_lossless();
    if !(v >= 0.0 && v.fract() == 0.0 && v <= 2f64.powi(53)) {
        return Err(format!("entry `{entry}` = {v} is not a step count (a whole number >= 0)"));
    }
    Ok(v as u64)
}
