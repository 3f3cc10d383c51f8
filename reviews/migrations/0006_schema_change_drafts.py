
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reviews', '0005_shared_change_request_numbers'),
    ]

    operations = [
        migrations.AddField(
            model_name='schemachangeitem',
            name='problems',
            field=models.JSONField(blank=True, default=list, help_text='What the new schema rejects in this value, [{path, message}]: only a draft holds values with problems, and it cannot be submitted until none is left.'),
        ),
    ]
