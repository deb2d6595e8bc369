//! Optimizers are all or nothing: a step checks every gradient and name
//! before it changes anything, a state load checks every entry against the
//! parameters, hyperparameters are checked when the optimizer is built;
//! and clipping by value keeps NaN a NaN.

use std::panic::{catch_unwind, AssertUnwindSafe};

use tapegrad_autodiff::{Tape, Tensor};
use tapegrad_nn::{clip_grad_norm, clip_grad_value, Adam, Binding, NnError, Optimizer, Param, ParamGrads, RmsProp, Sgd};

/// Four parameters of shapes [2, 3], [3], [4, 2], [1] with fixed values.
fn params() -> Vec<Param<f64>> {
    [&[2usize, 3][..], &[3], &[4, 2], &[1]]
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let n: usize = s.iter().product();
            Param::new(Tensor::from_vec((0..n).map(|i| 0.25 * (i as f64) - 0.5 * k as f64).collect(), s))
        })
        .collect()
}

/// The gradients of Σₖ Σ pₖ ⊙ cₖ: each gradient is the constant cₖ, which
/// differs per parameter and per `round`.
fn grads(ps: &[Param<f64>], round: usize) -> ParamGrads<f64> {
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let terms = ps.iter().enumerate().map(|(k, p)| {
        let c = Tensor::from_vec((0..p.value().numel()).map(|i| 0.1 * (k + 1) as f64 - 0.03 * (i + round) as f64).collect(), p.shape());
        bind.param(p).try_mul(tape.constant(c)).unwrap().sum_all()
    });
    let loss = terms.reduce(|a, b| a.try_add(b).unwrap()).unwrap();
    bind.grads(&tape.backward(loss).unwrap())
}

/// An optimizer's state.
type State = tapegrad_nn::NamedTensors<f64>;

fn named(ps: &mut [Param<f64>]) -> Vec<(String, &mut Param<f64>)> {
    ps.iter_mut().enumerate().map(|(i, p)| (format!("p{i}"), p)).collect()
}

fn named_ref(ps: &[Param<f64>]) -> Vec<(String, &Param<f64>)> {
    ps.iter().enumerate().map(|(i, p)| (format!("p{i}"), p)).collect()
}

fn values(ps: &[Param<f64>]) -> Vec<Tensor<f64>> {
    ps.iter().map(|p| p.value().clone()).collect()
}

/// One of each optimizer, with its moment buffers in use.
fn optimizers() -> Vec<(&'static str, Box<dyn Optimizer<f64>>)> {
    vec![
        ("sgd", Box::new(Sgd::new(0.1))),
        ("sgd momentum", Box::new(Sgd::new(0.1).with_momentum(0.9, true).with_weight_decay(0.01))),
        ("adam", Box::new(Adam::new(0.01).with_weight_decay(0.1))),
        ("adamw", Box::new(Adam::adamw(0.01))),
        ("rmsprop", Box::new(RmsProp::new(0.01).with_momentum(0.5))),
    ]
}

/// One step on the gradients of `round`.
fn step(opt: &mut dyn Optimizer<f64>, ps: &mut [Param<f64>], round: usize) {
    let g = grads(ps, round);
    opt.step(named(ps), &g).unwrap();
}

fn load(opt: &mut dyn Optimizer<f64>, ps: &[Param<f64>], state: &[(String, Tensor<f64>)]) -> Result<(), NnError> {
    opt.load_state(&named_ref(ps), state)
}

/// Regression (issue 11, item 4): a step with one misshaped gradient
/// updated the parameters before it (3 of 4 here), then failed, and the
/// step still counted.
#[test]
fn a_failed_step_changes_no_parameter_and_counts_no_step() {
    for (name, mut opt) in optimizers() {
        let mut ps = params();
        step(opt.as_mut(), &mut ps, 0); // moments now exist
        let (before, state) = (values(&ps), opt.state());
        let mut g = grads(&ps, 1);
        *g.get_mut(&ps[3]).unwrap() = Tensor::zeros(&[5]); // the last one is wrong
        let e = opt.step(named(&mut ps), &g).unwrap_err();
        assert!(matches!(&e, NnError::GradientShape { param, .. } if param == "p3"), "{name}: {e:?}");
        assert!(e.to_string().contains("[5]") && e.to_string().contains("[1]"), "{name}: {e}");
        assert_eq!(values(&ps), before, "{name}: no parameter may change");
        assert_eq!(opt.state(), state, "{name}: no moment may change, the step must not count");
    }
}

/// Regression (issue 11, item 9): a module repeating a name made Adam keep
/// one moment slot for the two parameters.
#[test]
fn a_step_refuses_two_parameters_with_one_name() {
    for (name, mut opt) in optimizers() {
        let mut ps = vec![Param::new(Tensor::<f64>::ones(&[3])), Param::new(Tensor::<f64>::zeros(&[3]))];
        let g = grads(&ps, 0);
        let (before, state) = (values(&ps), opt.state());
        let params = ps.iter_mut().map(|p| ("w".to_string(), p)).collect();
        let e = opt.step(params, &g).unwrap_err();
        assert!(matches!(&e, NnError::DuplicateName { name, .. } if name == "w"), "{name}: {e:?}");
        assert_eq!((values(&ps), opt.state()), (before, state), "{name}: nothing may change");
    }
}

/// The state of two Adam steps on `params()`, and an Adam one step in.
fn adam_states() -> (State, Box<dyn Optimizer<f64>>, Vec<Param<f64>>) {
    let mut ps = params();
    let mut a = Adam::new(0.01);
    step(&mut a, &mut ps, 0);
    step(&mut a, &mut ps, 1);
    let mut b: Box<dyn Optimizer<f64>> = Box::new(Adam::new(0.01));
    step(b.as_mut(), &mut ps, 2);
    (a.state(), b, ps)
}

fn replace(state: &[(String, Tensor<f64>)], entry: &str, t: Tensor<f64>) -> State {
    assert!(state.iter().any(|(n, _)| n == entry), "no entry {entry}");
    state.iter().map(|(n, v)| (n.clone(), if n == entry { t.clone() } else { v.clone() })).collect()
}

fn without(state: &[(String, Tensor<f64>)], entries: &[&str]) -> State {
    state.iter().filter(|(n, _)| !entries.contains(&n.as_str())).cloned().collect()
}

/// Regression (issue 11, item 4): `load_state` took moments of the wrong
/// shape (later steps then left most weights untouched: the update zipped
/// the shorter buffer), moments for unknown names, missing moments (fresh
/// ones with the old step count), and a NaN or negative step count.
#[test]
fn load_state_checks_everything_before_changing_anything() {
    let (good, mut opt, ps) = adam_states();
    let mut with_extra = good.clone();
    with_extra.push(("adam.m.ghost".into(), Tensor::zeros(&[1])));
    let mut repeated = good.clone();
    repeated.push(good[1].clone());
    let mut m_nan = good.iter().find(|(n, _)| n == "adam.m.p0").unwrap().1.clone();
    m_nan.data_mut()[4] = f64::NAN;
    let mut foreign = good.clone();
    foreign.push(("sgd.steps".into(), Tensor::scalar(2.0)));
    let cases: Vec<(&str, State, &str)> = vec![
        ("moment of the wrong shape", replace(&good, "adam.m.p2", Tensor::zeros(&[8])), "[4, 2]"),
        ("moment for an unknown name", with_extra, "ghost"),
        ("one moment missing", without(&good, &["adam.v.p1"]), "p1"),
        ("all moments of one parameter missing", without(&good, &["adam.m.p3", "adam.v.p3"]), "p3"),
        ("steps NaN", replace(&good, "adam.steps", Tensor::scalar(f64::NAN)), "NaN"),
        ("steps negative", replace(&good, "adam.steps", Tensor::scalar(-3.0)), "-3"),
        ("steps fractional", replace(&good, "adam.steps", Tensor::scalar(2.5)), "2.5"),
        ("steps not a scalar", replace(&good, "adam.steps", Tensor::zeros(&[2])), "[2]"),
        ("no steps", without(&good, &["adam.steps"]), "adam.steps"),
        ("another optimizer's entry", foreign, "sgd.steps"),
        ("an entry twice", repeated, &good[1].0),
        ("a NaN moment", replace(&good, "adam.m.p0", m_nan), "adam.m.p0"),
        ("a negative second moment", replace(&good, "adam.v.p1", Tensor::full(&[3], -1.0)), "adam.v.p1"),
    ];
    let before = opt.state();
    for (what, state, named) in cases {
        let e = load(opt.as_mut(), &ps, &state).expect_err(what);
        assert!(e.to_string().contains(named), "{what}: {e}");
        assert_eq!(opt.state(), before, "{what}: a refused state must change nothing");
    }
    load(opt.as_mut(), &ps, &good).unwrap();
    assert_eq!(opt.state(), good);
}

/// A parameter that never had a gradient still gets its (zero) moments, so
/// an optimizer's own state always loads back for the same parameters.
#[test]
fn an_optimizers_own_state_loads_back_when_a_parameter_had_no_gradient() {
    for (name, mut opt) in optimizers() {
        let mut ps = params();
        let mut g = grads(&ps[..3], 0); // p3 gets no gradient
        opt.step(named(&mut ps), &g).unwrap();
        g = grads(&ps[..3], 1);
        opt.step(named(&mut ps), &g).unwrap();
        let state = opt.state();
        let (_, mut fresh) = optimizers().into_iter().find(|(n, _)| *n == name).unwrap();
        load(fresh.as_mut(), &ps, &state).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(fresh.state(), state, "{name}");
        // And the two continue identically.
        let (mut a, mut b) = (params(), params());
        step(opt.as_mut(), &mut a, 2);
        step(fresh.as_mut(), &mut b, 2);
        assert_eq!(values(&a), values(&b), "{name}");
    }
}

fn panic_message(f: impl FnOnce()) -> String {
    let p = catch_unwind(AssertUnwindSafe(f)).expect_err("should panic");
    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

/// `try` must refuse with a [`NnError::Hyperparameter`] naming `name`, and
/// the panicking form must panic with the same message.
fn refused<O>(what: &str, name: &str, try_form: impl FnOnce() -> Result<O, NnError>, panicking: impl FnOnce() -> O) {
    let e = try_form().err().unwrap_or_else(|| panic!("{what}: accepted"));
    assert!(matches!(&e, NnError::Hyperparameter { name: n, .. } if *n == name), "{what}: {e:?}");
    assert_eq!(panic_message(|| drop(panicking())), e.to_string(), "{what}");
}

/// Regression (issue 11, item 4): Adam took lr NaN, inf or -1 and beta1 = 1
/// (PyTorch raises); no optimizer checked its hyperparameters.
#[test]
fn invalid_hyperparameters_are_refused_when_the_optimizer_is_built() {
    let nan = f64::NAN;
    refused("Adam lr NaN", "lr", || Adam::<f32>::try_new(nan), || Adam::<f32>::new(nan));
    refused("Adam lr inf", "lr", || Adam::<f32>::try_new(f64::INFINITY), || Adam::<f32>::new(f64::INFINITY));
    refused("Adam lr -1", "lr", || Adam::<f32>::try_new(-1.0), || Adam::<f32>::new(-1.0));
    refused("AdamW lr NaN", "lr", || Adam::<f32>::try_adamw(nan), || Adam::<f32>::adamw(nan));
    refused(
        "Adam beta1 1",
        "beta1",
        || Adam::<f32>::new(1e-3).try_with_betas(1.0, 0.999),
        || Adam::<f32>::new(1e-3).with_betas(1.0, 0.999),
    );
    refused("Adam beta2 1", "beta2", || Adam::<f32>::new(1e-3).try_with_betas(0.9, 1.0), || Adam::<f32>::new(1e-3).with_betas(0.9, 1.0));
    refused(
        "Adam beta1 -0.1",
        "beta1",
        || Adam::<f32>::new(1e-3).try_with_betas(-0.1, 0.9),
        || Adam::<f32>::new(1e-3).with_betas(-0.1, 0.9),
    );
    refused("Adam eps -1", "eps", || Adam::<f32>::new(1e-3).try_with_eps(-1.0), || Adam::<f32>::new(1e-3).with_eps(-1.0));
    refused(
        "Adam wd NaN",
        "weight_decay",
        || Adam::<f32>::new(1e-3).try_with_weight_decay(nan),
        || Adam::<f32>::new(1e-3).with_weight_decay(nan),
    );
    refused("SGD lr -1", "lr", || Sgd::<f32>::try_new(-1.0), || Sgd::<f32>::new(-1.0));
    refused(
        "SGD momentum -0.5",
        "momentum",
        || Sgd::<f32>::new(0.1).try_with_momentum(-0.5, false),
        || Sgd::<f32>::new(0.1).with_momentum(-0.5, false),
    );
    refused(
        "SGD Nesterov without momentum",
        "momentum",
        || Sgd::<f32>::new(0.1).try_with_momentum(0.0, true),
        || Sgd::<f32>::new(0.1).with_momentum(0.0, true),
    );
    refused(
        "SGD wd -1",
        "weight_decay",
        || Sgd::<f32>::new(0.1).try_with_weight_decay(-1.0),
        || Sgd::<f32>::new(0.1).with_weight_decay(-1.0),
    );
    refused("RMSprop lr NaN", "lr", || RmsProp::<f32>::try_new(nan), || RmsProp::<f32>::new(nan));
    refused("RMSprop alpha 1.5", "alpha", || RmsProp::<f32>::new(0.01).try_with_alpha(1.5), || RmsProp::<f32>::new(0.01).with_alpha(1.5));
    refused("RMSprop eps NaN", "eps", || RmsProp::<f32>::new(0.01).try_with_eps(nan), || RmsProp::<f32>::new(0.01).with_eps(nan));
    refused(
        "RMSprop momentum -1",
        "momentum",
        || RmsProp::<f32>::new(0.01).try_with_momentum(-1.0),
        || RmsProp::<f32>::new(0.01).with_momentum(-1.0),
    );
    refused(
        "RMSprop wd inf",
        "weight_decay",
        || RmsProp::<f32>::new(0.01).try_with_weight_decay(f64::INFINITY),
        || RmsProp::<f32>::new(0.01).with_weight_decay(f64::INFINITY),
    );
    // A schedule cannot set a bad rate either, and a refused one changes nothing.
    for (name, mut opt) in optimizers() {
        let e = opt.try_set_lr(nan).unwrap_err();
        assert!(matches!(e, NnError::Hyperparameter { name: "lr", .. }), "{name}: {e:?}");
        assert_eq!(panic_message(|| opt.set_lr(-1.0)), opt.try_set_lr(-1.0).unwrap_err().to_string());
        assert!(opt.lr() > 0.0, "{name}");
        opt.try_set_lr(0.5).unwrap();
        assert_eq!(opt.lr(), 0.5);
    }
    // The valid edges are accepted (PyTorch's ranges): lr 0, beta 0, eps 0.
    Adam::<f32>::try_new(0.0).unwrap().try_with_betas(0.0, 0.0).unwrap().try_with_eps(0.0).unwrap();
    Sgd::<f32>::try_new(0.0).unwrap().try_with_momentum(1.0, true).unwrap();
    RmsProp::<f32>::try_new(0.0).unwrap().try_with_alpha(0.0).unwrap();
}

/// Regression (issue 17, item 1): `v.max(-c).min(c)` turned NaN into -clip;
/// PyTorch's `clip_grad_value_` (`clamp_`) keeps NaN. Expected values:
/// `torch.tensor([nan, 1., -7.]).clamp_(-5, 5)` = `[nan, 1., -5.]`.
#[test]
fn clip_grad_value_keeps_nan_a_nan() {
    let p = Param::new(Tensor::<f64>::zeros(&[4]));
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let c = Tensor::from_vec(vec![f64::NAN, 1.0, -7.0, 9.0], &[4]);
    let mut g = bind.grads(&tape.backward(bind.param(&p).try_mul(tape.constant(c)).unwrap().sum_all()).unwrap());
    clip_grad_value(&mut g, 5.0);
    let got = g.get(&p).unwrap().data();
    assert!(got[0].is_nan(), "NaN must stay NaN, got {}", got[0]);
    assert_eq!(&got[1..], &[1.0, -5.0, 5.0]);
}

/// A negative or NaN clip is a bad input, not a silent sign flip: a
/// negative max_norm used to scale every gradient by a negative factor
/// (training uphill), a negative clip value was taken as its absolute value.
#[test]
fn clipping_refuses_a_negative_or_nan_threshold() {
    for bad in [-1.0, f64::NAN] {
        let mut g = ParamGrads::<f64>::default();
        let e = tapegrad_nn::try_clip_grad_norm(&mut g, bad).unwrap_err();
        assert!(matches!(e, NnError::Hyperparameter { op: "clip_grad_norm", name: "max_norm", .. }), "{e:?}");
        assert_eq!(panic_message(|| _ = clip_grad_norm(&mut g, bad)), e.to_string());
        let e = tapegrad_nn::try_clip_grad_value(&mut g, bad).unwrap_err();
        assert!(matches!(e, NnError::Hyperparameter { op: "clip_grad_value", name: "clip", .. }), "{e:?}");
        assert_eq!(panic_message(|| clip_grad_value(&mut g, bad)), e.to_string());
    }
}
