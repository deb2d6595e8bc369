//! # tapegrad-derive
//!
//! `#[derive(Module)]` and `#[derive(State)]` for tapegrad: a module's
//! parameters and a recurrent state's parts are declared once, as the
//! struct's fields, and every path that needs them (reading, updating,
//! naming, saving, loading, optimizers) follows from the one declaration.
//! Use them through `tapegrad::nn` (or `tapegrad_nn`), not from here.
//!
//! ## `Module`
//!
//! Every field is visited: a `Param` is a parameter named after the field,
//! anything else must itself be a module (a cell, `Linear`, a `Vec` or
//! `Option` of modules, ...) whose names get the field's name and a dot in
//! front (`encoder.weight`). A field that holds no parameters (a size, an
//! activation) is marked `#[module(skip)]`; forgetting that is a compile
//! error, never a silently missing parameter. Field attributes:
//!
//! - `#[module(skip)]`: not a module;
//! - `#[module(rename = "weight_ih")]`: the name used instead of the field's;
//! - `#[module(flatten)]`: the sub-module's names without a prefix.
//!
//! Struct attributes: `#[module(scalar = f64)]` names the scalar type when
//! it is not the struct's first type parameter; `#[module(crate = path)]`
//! the path of `tapegrad_nn` (default `::tapegrad::nn`).
//!
//! On an enum, the fields of the variant it holds are visited the same
//! way, except that a variant's single unnamed field is flattened (an enum
//! with a variant per kind of layer keeps each layer's own names).
//!
//! ## `State`
//!
//! A struct of `Var` fields becomes a recurrent state whose parts are the
//! fields in order; its output is the field marked `#[state(output)]`, else
//! the first. The struct needs `Clone` and the lifetime and scalar as its
//! first lifetime and type parameter.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Attribute, Data, DeriveInput, Fields, GenericParam, LitStr, Path, Type};

/// Implements `Module` from a struct's fields (see the crate docs).
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    module_impl(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Implements `State` from a struct's `Var` fields (see the crate docs).
#[proc_macro_derive(State, attributes(state, module))]
pub fn derive_state(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    state_impl(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// What the struct-level `#[module(...)]` attributes say.
struct StructOptions {
    krate: Path,
    scalar: Option<Type>,
}

fn struct_options(attrs: &[Attribute]) -> syn::Result<StructOptions> {
    let mut out = StructOptions { krate: syn::parse_quote!(::tapegrad::nn), scalar: None };
    for attr in attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                out.krate = meta.value()?.parse()?;
            } else if meta.path.is_ident("scalar") {
                out.scalar = Some(meta.value()?.parse()?);
            } else {
                return Err(meta.error("expected `crate = path` or `scalar = Type`"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// What a field's `#[module(...)]` attributes say.
#[derive(Default)]
struct FieldOptions {
    skip: bool,
    flatten: bool,
    rename: Option<String>,
}

fn field_options(attrs: &[Attribute]) -> syn::Result<FieldOptions> {
    let mut out = FieldOptions::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                out.skip = true;
            } else if meta.path.is_ident("flatten") {
                out.flatten = true;
            } else if meta.path.is_ident("rename") {
                out.rename = Some(meta.value()?.parse::<LitStr>()?.value());
            } else {
                return Err(meta.error("expected `skip`, `flatten` or `rename = \"name\"`"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The scalar type: as given, else the struct's first type parameter,
/// else the innermost first type argument of a field's type (`Param<f64>`
/// and `Rnn<LstmCell<f64>>` give f64).
fn scalar_of(input: &DeriveInput, given: Option<Type>) -> syn::Result<Type> {
    if let Some(t) = given {
        return Ok(t);
    }
    let param = input.generics.params.iter().find_map(|p| match p {
        GenericParam::Type(t) => {
            let id = &t.ident;
            Some(syn::parse_quote!(#id))
        }
        _ => None,
    });
    let from_fields = || match &input.data {
        Data::Struct(d) => d.fields.iter().find_map(|f| first_type_argument(&f.ty)),
        _ => None,
    };
    param
        .or_else(from_fields)
        .ok_or_else(|| syn::Error::new_spanned(&input.ident, "cannot tell the scalar type: add `#[module(scalar = f64)]` (or f32)"))
}

/// The innermost first type argument of a type path: `f64` for
/// `Param<f64>` and for `Rnn<LstmCell<f64>>`; `None` without arguments.
fn first_type_argument(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else { return None };
    let inner = args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    })?;
    Some(first_type_argument(&inner).unwrap_or(inner))
}

/// The struct's fields as (member, name, options), in declaration order.
fn members(input: &DeriveInput) -> syn::Result<Vec<(Tokens, String, FieldOptions, Type)>> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(&input.ident, "only structs and enums can be derived"));
    };
    let fields: Vec<_> = match &data.fields {
        Fields::Named(f) => f.named.iter().collect(),
        Fields::Unnamed(f) => f.unnamed.iter().collect(),
        Fields::Unit => Vec::new(),
    };
    fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let (member, name) = match &f.ident {
                Some(id) => (quote!(#id), id.to_string().trim_start_matches("r#").to_string()),
                None => {
                    let index = syn::Index::from(i);
                    (quote!(#index), i.to_string())
                }
            };
            Ok((member, name, field_options(&f.attrs)?, f.ty.clone()))
        })
        .collect()
}

fn module_impl(input: &DeriveInput) -> syn::Result<Tokens> {
    if let Data::Enum(data) = &input.data {
        return enum_module_impl(input, data);
    }
    let opts = struct_options(&input.attrs)?;
    let scalar = scalar_of(input, opts.scalar)?;
    let krate = &opts.krate;
    let (visit, visit_mut): (Vec<Tokens>, Vec<Tokens>) = members(input)?
        .into_iter()
        .filter(|(_, _, o, _)| !o.skip)
        .map(|(member, name, o, ty)| {
            let name = o.rename.unwrap_or(name);
            let child = if o.flatten { quote!(prefix) } else { quote!(&#krate::child_name(prefix, #name)) };
            (
                quote!(<#ty as #krate::Module<#scalar>>::visit(&self.#member, #child, f);),
                quote!(<#ty as #krate::Module<#scalar>>::visit_mut(&mut self.#member, #child, f);),
            )
        })
        .unzip();
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics #krate::Module<#scalar> for #ident #ty_generics #where_clause {
            fn visit<'__a>(&'__a self, prefix: &str, f: &mut dyn FnMut(&str, &'__a #krate::Param<#scalar>)) {
                let _ = (&prefix, &f);
                #(#visit)*
            }
            fn visit_mut<'__a>(&'__a mut self, prefix: &str, f: &mut dyn FnMut(&str, &'__a mut #krate::Param<#scalar>)) {
                let _ = (&prefix, &f);
                #(#visit_mut)*
            }
        }
    })
}

/// An enum: the fields of whichever variant it is, each named as in a
/// struct, except that a variant's single unnamed field is flattened (a
/// variant per kind of layer keeps the layer's own names).
fn enum_module_impl(input: &DeriveInput, data: &syn::DataEnum) -> syn::Result<Tokens> {
    let opts = struct_options(&input.attrs)?;
    let scalar = match opts.scalar {
        Some(t) => t,
        None => scalar_of(input, None)
            .or_else(|e| data.variants.iter().flat_map(|v| v.fields.iter()).find_map(|f| first_type_argument(&f.ty)).ok_or(e))?,
    };
    let krate = &opts.krate;
    let mut arms = Vec::new();
    let mut arms_mut = Vec::new();
    for v in &data.variants {
        let vid = &v.ident;
        let single = matches!(v.fields, Fields::Unnamed(_)) && v.fields.len() == 1;
        let mut binds = Vec::new();
        let mut calls = Vec::new();
        let mut calls_mut = Vec::new();
        for (i, f) in v.fields.iter().enumerate() {
            let o = field_options(&f.attrs)?;
            let var = format_ident!("__f{}", i);
            let member: Tokens = match &f.ident {
                Some(id) => quote!(#id: #var),
                None => quote!(#var),
            };
            binds.push(member);
            if o.skip {
                continue;
            }
            let name = o.rename.unwrap_or_else(|| f.ident.as_ref().map_or(i.to_string(), |id| id.to_string()));
            let child = if o.flatten || single { quote!(prefix) } else { quote!(&#krate::child_name(prefix, #name)) };
            let ty = &f.ty;
            calls.push(quote!(<#ty as #krate::Module<#scalar>>::visit(#var, #child, f);));
            calls_mut.push(quote!(<#ty as #krate::Module<#scalar>>::visit_mut(#var, #child, f);));
        }
        let pat = match &v.fields {
            Fields::Named(_) => quote!(Self::#vid { #(#binds,)* }),
            Fields::Unnamed(_) => quote!(Self::#vid( #(#binds,)* )),
            Fields::Unit => quote!(Self::#vid),
        };
        arms.push(quote!(#[allow(unused_variables)] #pat => { #(#calls)* }));
        arms_mut.push(quote!(#[allow(unused_variables)] #pat => { #(#calls_mut)* }));
    }
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics #krate::Module<#scalar> for #ident #ty_generics #where_clause {
            fn visit<'__a>(&'__a self, prefix: &str, f: &mut dyn FnMut(&str, &'__a #krate::Param<#scalar>)) {
                let _ = (&prefix, &f);
                match self { #(#arms)* }
            }
            fn visit_mut<'__a>(&'__a mut self, prefix: &str, f: &mut dyn FnMut(&str, &'__a mut #krate::Param<#scalar>)) {
                let _ = (&prefix, &f);
                match self { #(#arms_mut)* }
            }
        }
    })
}

fn state_impl(input: &DeriveInput) -> syn::Result<Tokens> {
    let opts = struct_options(&input.attrs)?;
    let scalar = scalar_of(input, opts.scalar)?;
    let krate = &opts.krate;
    let lifetime = input
        .generics
        .lifetimes()
        .next()
        .map(|l| l.lifetime.clone())
        .ok_or_else(|| syn::Error::new_spanned(&input.ident, "a state needs the tape's lifetime as its first lifetime parameter"))?;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(&input.ident, "only structs can be derived"));
    };
    let fields: Vec<_> = data.fields.iter().collect();
    if fields.is_empty() {
        return Err(syn::Error::new_spanned(&input.ident, "a state needs at least one `Var` field"));
    }
    let named = matches!(data.fields, Fields::Named(_));
    let member = |i: usize| -> Tokens {
        match &fields[i].ident {
            Some(id) => quote!(#id),
            None => {
                let index = syn::Index::from(i);
                quote!(#index)
            }
        }
    };
    let output = fields.iter().position(|f| f.attrs.iter().any(|a| a.path().is_ident("state"))).unwrap_or(0);
    let parts: Vec<Tokens> = (0..fields.len()).map(&member).map(|m| quote!(self.#m)).collect();
    let rebuilt: Vec<Tokens> = (0..fields.len())
        .map(|i| {
            let m = member(i);
            if named {
                quote!(#m: parts[#i])
            } else {
                quote!(parts[#i])
            }
        })
        .collect();
    let build = if named { quote!(Self { #(#rebuilt),* }) } else { quote!(Self( #(#rebuilt),* )) };
    let out = member(output);
    let count = fields.len();
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let private = format_ident!("__private");
    Ok(quote! {
        impl #impl_generics #krate::State<#lifetime, #scalar> for #ident #ty_generics #where_clause {
            const PARTS: usize = #count;
            fn parts(&self) -> #krate::#private::SmallVec<[#krate::#private::Var<#lifetime, #scalar>; 2]> {
                #krate::#private::smallvec![#(#parts),*]
            }
            fn from_parts(parts: &[#krate::#private::Var<#lifetime, #scalar>]) -> Self {
                assert_eq!(parts.len(), #count, "{}: {} parts expected", stringify!(#ident), #count);
                #build
            }
            fn output(&self) -> #krate::#private::Var<#lifetime, #scalar> {
                self.#out
            }
        }
    })
}
