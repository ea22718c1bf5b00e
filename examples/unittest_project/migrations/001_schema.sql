-- The application's schema: users and their orders.
create table users (
    id serial primary key,
    email text not null unique check (email = lower(email))
);

create table orders (
    id serial primary key,
    user_id int not null references users (id) on delete cascade,
    total_cents int not null check (total_cents >= 0)
);
