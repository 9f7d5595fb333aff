//! The access rules for each kind of principal.

use watchfloor_store::{Access, Actor, Principal, Role};

use crate::{add_tenant, add_user, at, cli, store};

#[test]
fn each_role_reads_and_writes_what_it_should() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let initech = add_tenant(&store, "initech");

    let admin = add_user(&store, "root", Role::Admin, &[]);
    let admin = Principal::for_user(&admin).expect("admin");
    for t in [acme, globex, initech] {
        assert!(Access::can_read(&admin, t) && Access::can_write(&admin, t));
    }
    assert!(Access::can_administer(&admin));

    let analyst = add_user(&store, "ana", Role::Analyst, &[acme, globex]);
    let analyst = Principal::for_user(&analyst).expect("analyst");
    for t in [acme, globex] {
        assert!(Access::can_read(&analyst, t) && Access::can_write(&analyst, t));
    }
    assert!(
        !Access::can_read(&analyst, initech),
        "analyst reads outside their set"
    );
    assert!(!Access::can_write(&analyst, initech));
    assert!(!Access::can_administer(&analyst));

    let customer = add_user(&store, "cus", Role::Customer, &[acme]);
    let customer = Principal::for_user(&customer).expect("customer");
    assert!(Access::can_read(&customer, acme));
    assert!(!Access::can_write(&customer, acme), "a customer writes");
    assert!(!Access::can_read(&customer, globex));
    assert!(!Access::can_administer(&customer));
}

#[test]
fn a_token_reaches_its_tenant_only() {
    let store = store();
    let a = add_tenant(&store, "a");
    let b = add_tenant(&store, "b");
    let analyst = store
        .create_token(a, Role::Analyst, "rw", None, &cli(1))
        .expect("token");
    let reader = store
        .create_token(a, Role::Customer, "ro", None, &cli(1))
        .expect("token");

    let scope = store
        .authenticate_token(analyst.secret.expose(), at(2))
        .expect("auth");
    let p = Principal::for_token(scope);
    assert!(Access::can_read(&p, a) && Access::can_write(&p, a));
    assert!(!Access::can_read(&p, b), "a token of A reads B");
    assert!(!Access::can_write(&p, b));
    assert!(!Access::can_administer(&p));
    assert_eq!(p.actor(), Actor::Token(analyst.token.id));

    let scope = store
        .authenticate_token(reader.secret.expose(), at(2))
        .expect("auth");
    let p = Principal::for_token(scope);
    assert!(Access::can_read(&p, a));
    assert!(!Access::can_write(&p, a), "a customer token writes");
    assert!(!Access::can_read(&p, b));
}

#[test]
fn a_disabled_user_is_no_principal() {
    let store = store();
    add_user(&store, "root", Role::Admin, &[]);
    let acme = add_tenant(&store, "acme");
    let ana = add_user(&store, "ana", Role::Analyst, &[acme]);
    let p = Principal::for_user(&ana).expect("enabled");
    assert_eq!(p.actor(), Actor::User(ana.id));
    let ana = store.disable_user(ana.id, &cli(1)).expect("disable");
    assert_eq!(Principal::for_user(&ana), None);
}
