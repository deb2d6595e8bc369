//! Graphviz DOT export of a tape: the unrolled graph, grouped by time step.

use std::collections::BTreeMap;
use std::fmt::Write;

use tapegrad_tensor::Scalar;

use crate::ops::Op;
use crate::tape::Inner;
use crate::Tape;

/// How [`Tape::to_dot`] draws a tape.
///
/// ```
/// use tapegrad_autodiff::DotOptions;
/// let o = DotOptions::default().max_nodes(50).title("3-step RNN").constants(false).left_to_right(true);
/// assert_eq!((o.max_nodes, o.constants, o.left_to_right), (50, false, true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotOptions {
    /// Above this many drawn nodes the graph is summarised (one box per
    /// time step with its op counts by kind) instead of dumped. Default 400;
    /// 0 always summarises.
    pub max_nodes: usize,
    /// A title drawn above the graph.
    pub title: Option<String>,
    /// Whether constants are drawn (dimmed). Default true.
    pub constants: bool,
    /// Lay the graph out left to right instead of top to bottom.
    pub left_to_right: bool,
}

impl Default for DotOptions {
    fn default() -> Self {
        DotOptions { max_nodes: 400, title: None, constants: true, left_to_right: false }
    }
}

impl DotOptions {
    /// Sets [`DotOptions::max_nodes`].
    pub fn max_nodes(mut self, n: usize) -> Self {
        self.max_nodes = n;
        self
    }
    /// Sets [`DotOptions::title`].
    pub fn title(mut self, title: &str) -> Self {
        self.title = Some(title.to_string());
        self
    }
    /// Sets [`DotOptions::constants`].
    pub fn constants(mut self, on: bool) -> Self {
        self.constants = on;
        self
    }
    /// Sets [`DotOptions::left_to_right`].
    pub fn left_to_right(mut self, on: bool) -> Self {
        self.left_to_right = on;
        self
    }
}

/// What a node is, for drawing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Leaf,
    Constant,
    Op,
}

/// A DOT string literal's contents: quotes and backslashes escaped,
/// newlines as `\n`.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

const LEAF_STYLE: &str = "shape=doubleoctagon, style=filled, fillcolor=\"#ffd966\", color=\"#7f6000\", penwidth=2";
const CONST_STYLE: &str = "shape=box, style=\"dashed,filled\", fillcolor=\"#f7f7f7\", color=\"#c8c8c8\", fontcolor=\"#a0a0a0\"";
const OP_STYLE: &str = "shape=box, style=\"rounded,filled\", fillcolor=\"#dae8fc\", color=\"#6c8ebf\"";

impl<T: Scalar> Tape<T> {
    /// The recorded graph in Graphviz DOT (render with `dot -Tsvg`).
    ///
    /// Ops are boxes labelled with the op and its output shape; leaves
    /// (parameters and inputs that require grad) are bold yellow octagons
    /// labelled with their names ([`crate::Var::set_name`],
    /// [`Tape::leaf_named`]) and never placed in a step, since they are
    /// shared by all steps; constants are dashed and grey. Edges run from
    /// each input to the op that used it. Nodes recorded while a time step
    /// was set ([`Tape::set_step`], which recurrent layers call for every
    /// unrolled step) are grouped into one `subgraph cluster_step_N` per
    /// step.
    ///
    /// A tape of more than [`DotOptions::max_nodes`] drawn nodes is
    /// summarised instead: one box per step listing its op counts by kind,
    /// one for the leaves and one for nodes outside any step, with edges
    /// labelled by how many values flow between them.
    ///
    /// ```
    /// use tapegrad_autodiff::{DotOptions, Tape, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let w = tape.leaf_named("W", Tensor::ones(&[2, 2]));
    /// let mut h = tape.constant(Tensor::zeros(&[1, 2]));
    /// for t in 0..2 {
    ///     tape.set_step(Some(t));
    ///     h = h.matmul(w).tanh();
    /// }
    /// tape.set_step(None);
    /// let dot = tape.to_dot(&DotOptions::default());
    /// assert!(dot.starts_with("digraph tape {"));
    /// assert!(dot.contains("subgraph cluster_step_0") && dot.contains("subgraph cluster_step_1"));
    /// assert!(dot.contains("label=\"W\\n[2, 2]\""));
    /// let summary = tape.to_dot(&DotOptions::default().max_nodes(0));
    /// assert!(summary.contains("matmul × 1"));
    /// ```
    pub fn to_dot(&self, options: &DotOptions) -> String {
        let inner = self.inner.borrow();
        let view = View { inner: &inner, options };
        let drawn: Vec<usize> = (0..inner.nodes.len()).filter(|&i| view.drawn(i)).collect();
        let mut out = String::new();
        let summary = drawn.len() > options.max_nodes;
        let _ = writeln!(out, "digraph {} {{", if summary { "tape_summary" } else { "tape" });
        let mut title = options.title.clone().unwrap_or_default();
        if summary {
            let note = format!("{} nodes (more than {}), summarised by time step", drawn.len(), options.max_nodes);
            title = if title.is_empty() { note } else { format!("{title}\n{note}") };
        }
        let _ = write!(out, "  graph [rankdir={}, fontname=\"Helvetica\", fontsize=12", if options.left_to_right { "LR" } else { "TB" });
        if !title.is_empty() {
            let _ = write!(out, ", label=\"{}\", labelloc=t", esc(&title));
        }
        let _ = writeln!(out, "];\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [color=\"#555555\", arrowsize=0.6];");
        if summary {
            view.write_summary(&mut out, &drawn);
        } else {
            view.write_full(&mut out, &drawn);
        }
        out.push_str("}\n");
        out
    }
}

/// A tape being drawn, with the options.
struct View<'a, T: Scalar> {
    inner: &'a Inner<T>,
    options: &'a DotOptions,
}

/// A box of the summary: the leaves, nodes outside any step, or one step.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Leaves,
    Outside,
    Step(u32),
}

impl Group {
    fn id(self) -> String {
        match self {
            Group::Leaves => "leaves".to_string(),
            Group::Outside => "outside".to_string(),
            Group::Step(s) => format!("step_{s}"),
        }
    }
}

impl<T: Scalar> View<'_, T> {
    fn kind(&self, i: usize) -> Kind {
        match self.inner.nodes[i].op {
            Op::Leaf => Kind::Leaf,
            Op::Constant => Kind::Constant,
            _ => Kind::Op,
        }
    }

    fn drawn(&self, i: usize) -> bool {
        self.options.constants || self.kind(i) != Kind::Constant
    }

    /// The step of node `i` (leaves belong to none: all steps share them).
    fn step(&self, i: usize) -> Option<u32> {
        let s = self.inner.nodes[i].step;
        (self.kind(i) != Kind::Leaf && s != u32::MAX).then_some(s)
    }

    fn group(&self, i: usize) -> Group {
        match (self.kind(i), self.step(i)) {
            (Kind::Leaf, _) => Group::Leaves,
            (_, None) => Group::Outside,
            (_, Some(s)) => Group::Step(s),
        }
    }

    /// One box per group listing its op counts by kind, with edges
    /// labelled by how many values flow between groups.
    fn write_summary(&self, out: &mut String, drawn: &[usize]) {
        let mut counts: BTreeMap<Group, BTreeMap<String, usize>> = BTreeMap::new();
        let mut names: Vec<String> = Vec::new();
        let mut edges: BTreeMap<(Group, Group), usize> = BTreeMap::new();
        for &i in drawn {
            let g = self.group(i);
            *counts.entry(g).or_default().entry(self.inner.nodes[i].op.name()).or_default() += 1;
            if g == Group::Leaves {
                names.push(self.inner.names.get(&(i as u32)).cloned().unwrap_or_else(|| format!("#{i}")));
            }
            for &p in &self.inner.nodes[i].parents {
                let pg = self.group(p as usize);
                if pg != g && self.drawn(p as usize) {
                    *edges.entry((pg, g)).or_default() += 1;
                }
            }
        }
        for (g, ops) in &counts {
            let total: usize = ops.values().sum();
            let mut label = match g {
                Group::Leaves => {
                    let shown = names.iter().take(12).map(String::as_str).collect::<Vec<_>>().join(", ");
                    let more = if names.len() > 12 { ", …" } else { "" };
                    format!("leaves: {total}\\l{}{more}\\l", esc(&shown))
                }
                Group::Outside => format!("outside any step: {total} nodes\\l"),
                Group::Step(s) => format!("step {s}: {total} nodes\\l"),
            };
            if *g != Group::Leaves {
                let mut by_count: Vec<(&String, &usize)> = ops.iter().collect();
                by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                for (op, n) in by_count {
                    let _ = write!(label, "{} × {n}\\l", esc(op));
                }
            }
            let style = if *g == Group::Leaves { LEAF_STYLE } else { OP_STYLE };
            let _ = writeln!(out, "  {} [label=\"{label}\", {style}];", g.id());
        }
        for ((a, b), n) in &edges {
            let _ = writeln!(out, "  {} -> {} [label=\"{n}\"];", a.id(), b.id());
        }
    }

    /// The DOT line of node `i`: its label (name, op, shape) and style.
    fn node_line(&self, i: usize) -> String {
        let n = &self.inner.nodes[i];
        let shape = format!("{:?}", n.shape());
        let name = self.inner.names.get(&(i as u32));
        let prefix = || name.map(|n| format!("{n}: ")).unwrap_or_default();
        let (label, style) = match self.kind(i) {
            Kind::Leaf => (format!("{}\n{shape}", name.cloned().unwrap_or_else(|| format!("leaf #{i}"))), LEAF_STYLE),
            Kind::Constant => (format!("{}constant\n{shape}", prefix()), CONST_STYLE),
            Kind::Op => (format!("{}{}\n{shape}", prefix(), n.op.name()), OP_STYLE),
        };
        format!("n{i} [label=\"{}\", {style}];", esc(&label))
    }

    /// Every drawn node, grouped into one cluster per step, and every edge.
    fn write_full(&self, out: &mut String, drawn: &[usize]) {
        let mut steps: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for &i in drawn {
            match self.step(i) {
                Some(s) => steps.entry(s).or_default().push(i),
                None => {
                    let _ = writeln!(out, "  {}", self.node_line(i));
                }
            }
        }
        for (s, ids) in &steps {
            let _ = writeln!(out, "  subgraph cluster_step_{s} {{");
            let _ = writeln!(out, "    label=\"step {s}\"; style=\"rounded,filled\"; fillcolor=\"#f4f8fd\"; color=\"#9bb3d1\";");
            for &i in ids {
                let _ = writeln!(out, "    {}", self.node_line(i));
            }
            let _ = writeln!(out, "  }}");
        }
        for &i in drawn {
            for &p in &self.inner.nodes[i].parents {
                match self.kind(p as usize) {
                    Kind::Constant if !self.options.constants => {}
                    Kind::Constant => {
                        let _ = writeln!(out, "  n{p} -> n{i} [color=\"#c8c8c8\", style=dashed];");
                    }
                    _ => {
                        let _ = writeln!(out, "  n{p} -> n{i};");
                    }
                }
            }
        }
    }
}
