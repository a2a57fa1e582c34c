"""Passwords (and the words under them) that anyone guessing tries first. `passwords.password_problem` compares in
lower case after removing digits and symbols, so "Password2024!" matches "password". A Python module rather than a
data file, so that it ships with the package."""

COMMON = frozenset((
    "password", "passw", "passwd", "passphrase", "letmein", "welcome", "iloveyou", "admin", "administrator",
    "qwerty", "qwertyuiop", "qwertyuiopasdfghjkl", "asdfghjkl", "zxcvbnm", "asdf", "monkey", "dragon", "football",
    "baseball", "soccer", "basketball", "sunshine", "princess", "master", "shadow", "superman", "batman", "trustno",
    "abc", "abcd", "abcdef", "abcdefg", "abcdefgh", "abcdefghij", "abcdefghijkl", "login", "starwars", "whatever",
    "freedom", "secret", "mypassword", "changeme", "changeit", "default", "summer", "winter", "spring", "autumn",
    "hello", "helloworld", "internet", "computer", "michael", "jennifer", "jordan", "hunter", "ranger", "charlie",
    "thomas", "liverpool", "chelsea", "arsenal", "pokemon", "minecraft", "fortnite", "google", "facebook", "twitter",
    "instagram", "whatsapp", "telegram", "reportkit", "evidence", "security", "secure", "privacy", "access",
    "passwordpassword", "qwertyqwerty", "iloveyouiloveyou", "correcthorsebatterystaple", "ilovemyself", "lovelove",
    "loveyou", "love", "tinkle", "cheese", "flower", "purple", "orange", "banana", "chocolate", "cookie", "pepper",
    "ginger", "maggie", "buster", "tigger", "jessica", "ashley", "daniel", "andrew", "joshua", "matthew", "nicole",
    "amanda", "samsung", "apple", "iphone", "android", "windows", "linux", "ubuntu", "oracle", "mysql", "postgres",
    "root", "toor", "user", "guest", "test", "testing", "demo", "sample", "example",
))
