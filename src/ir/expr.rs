//! [`Expr`]: the fusable elementwise IR.
//!
//! An expression is a flat list of instructions in SSA form: each instruction reads the inputs
//! of the fused task or earlier instructions, and the last one is the result. Fusing a chain of
//! elementwise nodes splices their instruction lists into one; the CPU backend interprets the
//! list tile by tile (temporaries stay in cache), and a GPU backend can generate one WGSL kernel
//! from it. Each instruction carries its dtype, so no backend has to infer types.

use std::fmt;

use crate::core::dtype::{DType, Scalar};

/// A unary elementwise op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum UnaryOp {
    Neg,
    Abs,
    Sqrt,
    Exp,
    Log,
    Log1p,
    Expm1,
    Sin,
    Cos,
    Tan,
    Tanh,
    Floor,
    Ceil,
    /// Round half to even, as NumPy.
    Round,
    /// Result dtype bool.
    IsNan,
    /// Result dtype bool.
    IsFinite,
    /// Logical not (bool only).
    Not,
}

/// A binary elementwise op; both operands have the same dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    /// NaN-propagating minimum.
    Minimum,
    /// NaN-propagating maximum.
    Maximum,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinaryOp {
    /// Whether the result is a bool whatever the operand dtype.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
}

/// One instruction of an [`Expr`].
#[derive(Debug, Clone, PartialEq)]
pub enum Instr {
    /// The k-th input of the fused task.
    Input(usize),
    /// A constant.
    Const(Scalar),
    /// A unary op on an earlier instruction.
    Unary(UnaryOp, usize),
    /// A binary op on two earlier instructions.
    Binary(BinaryOp, usize, usize),
    /// `where(cond, a, b)`.
    Where(usize, usize, usize),
    /// Conversion of an earlier instruction to this instruction's dtype.
    Cast(usize),
}

/// A fused elementwise expression: instructions and their dtypes; the last is the result.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The instructions in evaluation order.
    pub instrs: Vec<Instr>,
    /// The dtype of each instruction's result.
    pub dtypes: Vec<DType>,
}

impl Expr {
    /// The expression that just returns input 0.
    pub fn input(dtype: DType) -> Self {
        Expr { instrs: vec![Instr::Input(0)], dtypes: vec![dtype] }
    }
    /// Number of task inputs the expression reads.
    pub fn n_inputs(&self) -> usize {
        self.instrs
            .iter()
            .filter_map(|i| if let Instr::Input(k) = i { Some(k + 1) } else { None })
            .max()
            .unwrap_or(0)
    }
    /// The result dtype.
    pub fn dtype(&self) -> DType {
        *self.dtypes.last().expect("an expression has at least one instruction")
    }
    /// Whether the expression only forwards input 0 (nothing to compute).
    pub fn is_identity(&self) -> bool {
        self.instrs.len() == 1 && self.instrs[0] == Instr::Input(0)
    }
    /// Number of ops (instructions that compute something).
    pub fn n_ops(&self) -> usize {
        self.instrs.iter().filter(|i| !matches!(i, Instr::Input(_) | Instr::Const(_))).count()
    }

    /// Substitute each input `j` of `self` by the expression `inners[j]`. The inputs of
    /// `inners[j]` are renumbered after those of `inners[..j]`, so the composed expression reads
    /// the concatenation of the inner expressions' inputs.
    pub fn compose(&self, inners: &[Expr]) -> Expr {
        let mut instrs = Vec::new();
        let mut dtypes = Vec::new();
        let mut results = Vec::with_capacity(inners.len());
        let mut next_input = 0;
        for inner in inners {
            let base = instrs.len();
            for (ins, &dt) in inner.instrs.iter().zip(&inner.dtypes) {
                instrs.push(inner_shift(ins, base, next_input));
                dtypes.push(dt);
            }
            results.push(instrs.len() - 1);
            next_input += inner.n_inputs();
        }
        let base = instrs.len();
        for (ins, &dt) in self.instrs.iter().zip(&self.dtypes) {
            let ins = match *ins {
                Instr::Input(j) => Instr::Cast(results[j]),
                ref other => inner_shift(other, base, 0),
            };
            instrs.push(ins);
            dtypes.push(dt);
        }
        Expr { instrs, dtypes }.simplified()
    }

    /// Drop casts to the same dtype and instructions the result does not use.
    pub fn simplified(mut self) -> Expr {
        // Forward same-dtype casts.
        let n = self.instrs.len();
        let mut alias: Vec<usize> = (0..n).collect();
        for i in 0..n {
            if let Instr::Cast(a) = self.instrs[i] {
                let a = alias[a];
                if self.dtypes[a] == self.dtypes[i] {
                    alias[i] = a;
                }
            }
        }
        for ins in &mut self.instrs {
            match ins {
                Instr::Unary(_, a) | Instr::Cast(a) => *a = alias[*a],
                Instr::Binary(_, a, b) => {
                    *a = alias[*a];
                    *b = alias[*b];
                }
                Instr::Where(c, a, b) => {
                    *c = alias[*c];
                    *a = alias[*a];
                    *b = alias[*b];
                }
                _ => {}
            }
        }
        let root = alias[n - 1];
        // Mark live instructions from the root.
        let mut live = vec![false; n];
        live[root] = true;
        for i in (0..n).rev() {
            if !live[i] {
                continue;
            }
            match self.instrs[i] {
                Instr::Unary(_, a) | Instr::Cast(a) => live[a] = true,
                Instr::Binary(_, a, b) => {
                    live[a] = true;
                    live[b] = true;
                }
                Instr::Where(c, a, b) => {
                    live[c] = true;
                    live[a] = true;
                    live[b] = true;
                }
                _ => {}
            }
        }
        let mut new_pos = vec![usize::MAX; n];
        let mut instrs = Vec::new();
        let mut dtypes = Vec::new();
        for i in 0..=root {
            if !live[i] {
                continue;
            }
            let m = |a: usize| new_pos[a];
            let ins = match self.instrs[i] {
                Instr::Unary(op, a) => Instr::Unary(op, m(a)),
                Instr::Cast(a) => Instr::Cast(m(a)),
                Instr::Binary(op, a, b) => Instr::Binary(op, m(a), m(b)),
                Instr::Where(c, a, b) => Instr::Where(m(c), m(a), m(b)),
                ref other => other.clone(),
            };
            new_pos[i] = instrs.len();
            instrs.push(ins);
            dtypes.push(self.dtypes[i]);
        }
        Expr { instrs, dtypes }
    }
}

/// Shift the instruction references of `ins` by `base` and its input numbers by `inputs`.
fn inner_shift(ins: &Instr, base: usize, inputs: usize) -> Instr {
    match *ins {
        Instr::Input(j) => Instr::Input(j + inputs),
        Instr::Const(c) => Instr::Const(c),
        Instr::Unary(op, a) => Instr::Unary(op, a + base),
        Instr::Binary(op, a, b) => Instr::Binary(op, a + base, b + base),
        Instr::Where(c, a, b) => Instr::Where(c + base, a + base, b + base),
        Instr::Cast(a) => Instr::Cast(a + base),
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn go(e: &Expr, i: usize, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match &e.instrs[i] {
                Instr::Input(k) => write!(f, "in{k}"),
                Instr::Const(c) => match c {
                    Scalar::Bool(v) => write!(f, "{v}"),
                    Scalar::I8(v) => write!(f, "{v}"),
                    Scalar::I16(v) => write!(f, "{v}"),
                    Scalar::U8(v) => write!(f, "{v}"),
                    Scalar::U16(v) => write!(f, "{v}"),
                    Scalar::U32(v) => write!(f, "{v}"),
                    Scalar::U64(v) => write!(f, "{v}"),
                    Scalar::I32(v) => write!(f, "{v}"),
                    Scalar::I64(v) => write!(f, "{v}"),
                    Scalar::F32(v) => write!(f, "{v}"),
                    Scalar::F64(v) => write!(f, "{v}"),
                },
                Instr::Unary(op, a) => {
                    write!(f, "{}(", format!("{op:?}").to_lowercase())?;
                    go(e, *a, f)?;
                    write!(f, ")")
                }
                Instr::Binary(op, a, b) => {
                    write!(f, "{}(", format!("{op:?}").to_lowercase())?;
                    go(e, *a, f)?;
                    write!(f, ", ")?;
                    go(e, *b, f)?;
                    write!(f, ")")
                }
                Instr::Where(c, a, b) => {
                    write!(f, "where(")?;
                    go(e, *c, f)?;
                    write!(f, ", ")?;
                    go(e, *a, f)?;
                    write!(f, ", ")?;
                    go(e, *b, f)?;
                    write!(f, ")")
                }
                Instr::Cast(a) => {
                    write!(f, "{}(", e.dtypes[i])?;
                    go(e, *a, f)?;
                    write!(f, ")")
                }
            }
        }
        go(self, self.instrs.len() - 1, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_renumbers_and_simplifies() {
        // outer: in0 + in1 ; inner (for in0): exp(in0)
        let outer = Expr {
            instrs: vec![Instr::Input(0), Instr::Input(1), Instr::Binary(BinaryOp::Add, 0, 1)],
            dtypes: vec![DType::F64; 3],
        };
        let inner = Expr {
            instrs: vec![Instr::Input(0), Instr::Unary(UnaryOp::Exp, 0)],
            dtypes: vec![DType::F64; 2],
        };
        let e = outer.compose(&[inner, Expr::input(DType::F64)]);
        assert_eq!(e.to_string(), "add(exp(in0), in1)");
        assert_eq!(e.n_inputs(), 2);
    }
}
