# PrepFormats: a feed with `PrepFormats tar zip 7z` takes a 7-Zip package
# (made by the real 7z) and serves every file of it exactly as delivered,
# byte for byte (PrepBanner off at /prep/formatos); a tar.gz is still taken
# (the line names no compression, so gzip bzip2 xz zstd stay), and a cpio
# package, a format the line leaves out, is refused as not-an-archive with
# a sentence naming cpio and listing the feed's archive formats.
# Feed: formatos.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PrepTest;

my $feed = 'formatos';
my $base = "/prep/$feed";
my $tmp  = tmp_dir();

for my $tool (qw(7z cpio)) {
    system("command -v $tool >/dev/null 2>&1") == 0
        or give_up("$tool is not installed (p7zip-full, cpio)");
}

# ---------------------------------------------------------------- a 7-Zip package

my $tgz  = make_package(out => "$tmp/PREP_FORMATOS_2105.tar.gz",
                        corte => '2024-06-02T21:05:00-06:00', seed => 16, files => 300);
my $tree = extract_package($tgz);
my @files = grep { !m{(^|/)\.} } tree_files($tree);
cmp_ok scalar(@files), '>=', 100, 'the site has files to compare';
my $sevenz = "$tmp/PREP_FORMATOS_2105.7z";
system("cd '$tree' && 7z a -bd -bso0 -bse0 '$sevenz' . >/dev/null") == 0
    or give_up('7z a failed');

my ($f) = upload_and_wait($sevenz, $feed, timeout => 40);
ok $f, 'the 7-Zip package is published'
    or give_up('no corte: ' . join('', explain(status_feed($feed))));
is $f->{corte}{time}, '2024-06-02T21:05:00-06:00', 'its corte time is read from json/main.json';
is $f->{corte}{sha256}, sha256_file($sevenz), 'the corte is the 7-Zip package';

my @wrong;
for my $path (@files) {
    my $r = http(GET => "$base/" . enc_path($path));
    if ($r->code != 200) {
        push @wrong, "$path: status " . $r->code;
    } elsif ($r->content ne slurp("$tree/$path")) {
        push @wrong, "$path: other bytes";
    }
}
is_deeply \@wrong, [], 'every file of the 7-Zip package is served exactly as delivered ('
    . scalar(@files) . ' files)' or diag join "\n", grep { defined } @wrong[0 .. 9];

# ---------------------------------------------------------------- the default compressions stay

my $next = make_package(out => "$tmp/PREP_FORMATOS_2110.tar.gz",
                        corte => '2024-06-02T21:10:00-06:00', seed => 17, files => 120);
my ($g) = upload_and_wait($next, $feed, timeout => 40);
ok $g && $g->{corte}{time} eq '2024-06-02T21:10:00-06:00',
    'a tar.gz is still taken (the line names no compression)'
    or diag explain status_feed($feed);
my $id = corte_id($feed);

# ---------------------------------------------------------------- a format the line leaves out

my $cpio_tree = extract_package(make_package(out => "$tmp/c.tar.gz",
                                             corte => '2024-06-02T21:15:00-06:00',
                                             seed => 18, files => 60));
my $cpio = "$tmp/PREP_FORMATOS_2115.cpio";
system("cd '$cpio_tree' && find . -type f | cpio --quiet -o -H newc > '$cpio'") == 0
    or give_up('cpio failed');
upload_renamed($cpio, $feed);
my $rej = wait_rejected($feed, 'PREP_FORMATOS_2115.cpio', 40);
ok $rej, 'the cpio package is refused' or diag explain status_feed($feed);
is $rej && $rej->{reason}, 'not-an-archive', 'as not-an-archive';
is $rej && $rej->{message}, 'cpio is not among PrepFormats (tar, zip, 7z)',
    'the message names cpio and the formats the feed reads';
is corte_id($feed), $id, 'the served corte is unchanged';

done_testing;
