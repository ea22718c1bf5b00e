-- Two users every test starts with.
insert into users (email) values ('ada@example.com'), ('grace@example.com');
insert into orders (user_id, total_cents) select id, 1500 from users where email = 'ada@example.com';
